"""One `LOAD DATA LOCAL INFILE` of canonical records, and what MySQL said about it.

The loader never lets MySQL parse a user's file. It sends records it has already parsed and
checked, re-written in one canonical form that MySQL reads exactly: comma-separated, text always
in double quotes with its quotes doubled, NULL as the bare word NULL, one `\\n` per record, no
escape character. Duplicate keys never reach it (ingest.load.keys), so it must skip nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pymysql

from ingest.core.contract import Column
from ingest.core.mysql import LoadingConnection, quote_identifier

_RECORDS = re.compile(r"Records:\s*(\d+)\s+Deleted:\s*(\d+)\s+Skipped:\s*(\d+)\s+Warnings:\s*(\d+)")
_ROW = re.compile(r"(?:at row|^Row) (\d+)")

# Errors MySQL raises for a row that does not fit (when it does not downgrade them to warnings).
DATA_ERRORS = {1048, 1062, 1261, 1262, 1263, 1264, 1265, 1292, 1366, 1406, 1411, 3819}


@dataclass
class Outcome:
    """What MySQL said about one LOAD DATA."""

    records: int = 0
    skipped: int = 0
    warnings: list[tuple[int, int | None, str]] = field(default_factory=list)  # (code, row, message)
    error: str | None = None


def load_statement(target: str, columns: list[Column]) -> str:
    """LOAD DATA for the canonical stream; the file name is bound as the only parameter."""
    names = [quote_identifier(c.name) for c in columns]
    return (
        f"LOAD DATA LOCAL INFILE %s INTO TABLE {quote_identifier(target)} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
        f"({', '.join(names)})"
    )


def run_load(conn: LoadingConnection, sql: str, chunks: Iterable[bytes]) -> Outcome:
    """Run one LOAD DATA whose data is `chunks`, sent only in answer to this statement's request."""
    outcome = Outcome()
    try:
        with conn.infile(chunks) as name, conn.cursor() as cursor:
            cursor.execute(sql, (name,))
            result = conn._result  # the OK packet's info: "Records: n Deleted: 0 Skipped: n Warnings: n"
            info = (result.message or b"") if result else b""
            match = _RECORDS.search(info.decode() if isinstance(info, bytes) else info)
            if match:
                outcome.records, outcome.skipped = int(match[1]), int(match[3])
            if result is not None and result.warning_count:
                cursor.execute("SHOW WARNINGS")
                for _level, code, message in cursor.fetchall():
                    row = _ROW.search(message)
                    outcome.warnings.append((int(code), int(row[1]) if row else None, message))
    except pymysql.err.MySQLError as exc:
        if not exc.args or exc.args[0] not in DATA_ERRORS:
            raise
        outcome.error = str(exc.args[-1])
    return outcome
