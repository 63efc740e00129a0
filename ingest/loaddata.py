"""`LOAD DATA LOCAL INFILE` fed through a named pipe, so the loader controls every byte sent.

The pipe lets one statement serve both paths: the fast path streams the file as it is, the
validating path streams only the records that passed. It also gives a true byte progress bar,
since the loader writes each chunk itself.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pymysql
from pymysql.connections import Connection

from ingest.contract import Column, Dialect
from ingest.csvfile import FileInfo
from ingest.mysql import quote_identifier
from ingest.validate import BOOLEAN_FALSE, BOOLEAN_TRUE

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

    @property
    def clean(self) -> bool:
        return self.error is None and not self.warnings and self.skipped == 0


# MySQL warns about a row with too few fields only when the last target is a real column, not
# a user variable. When the last field needs a variable (to map NULL tokens, say), it is read into
# this text column of the staging table instead, which the loader drops before publishing.
SHADOW_COLUMN = "_lakehouse_last_field"


def _needs_variable(column: Column, dialect: Dialect) -> bool:
    return bool(dialect.null_tokens) or column.type.base in ("BOOLEAN", "DATETIME", "TIMESTAMP")


def needs_shadow_column(columns: list[Column], dialect: Dialect) -> bool:
    return _needs_variable(columns[-1], dialect)


def _assignment(column: Column, raw: str, dialect: Dialect) -> tuple[str, list[str]]:
    """The SET expression turning the raw text `raw` into the column's value."""
    base = column.type.base
    value = raw
    if base in ("DATETIME", "TIMESTAMP"):
        # ISO-8601 'T' separator and a final 'Z' (UTC) are accepted; the column stores UTC.
        value = f"REPLACE(TRIM(TRAILING 'Z' FROM {raw}), 'T', ' ')"
    if base == "BOOLEAN":
        true = ", ".join(f"'{v}'" for v in BOOLEAN_TRUE)
        false = ", ".join(f"'{v}'" for v in BOOLEAN_FALSE)
        # Anything else becomes a string MySQL refuses, so it is reported instead of stored.
        value = (
            f"CASE WHEN LOWER({raw}) IN ({true}) THEN 1 WHEN LOWER({raw}) IN ({false}) THEN 0 "
            f"ELSE CONCAT('not a boolean: ', {raw}) END"
        )
    params: list[str] = []
    if dialect.null_tokens:
        placeholders = ", ".join(["%s"] * len(dialect.null_tokens))
        value = f"IF({raw} IN ({placeholders}), NULL, {value})"
        params = list(dialect.null_tokens)
    return f"{quote_identifier(column.name)} = {value}", params


def load_statement(target: str, info: FileInfo, dialect: Dialect, pipe: Path) -> tuple[str, list[str]]:
    """The LOAD DATA statement for a file, with its bound parameters."""
    targets, assignments, params = [], [], []
    last = len(info.columns) - 1
    for position, column in enumerate(info.columns):
        if not _needs_variable(column, dialect):
            targets.append(quote_identifier(column.name))
            continue
        raw = quote_identifier(SHADOW_COLUMN) if position == last else f"@v{position}"
        targets.append(raw)
        assignment, assignment_params = _assignment(column, raw, dialect)
        assignments.append(assignment)
        params.extend(assignment_params)
    charset = {"utf-8": "utf8mb4", "ascii": "ascii", "latin1": "latin1", "cp1252": "latin1"}[dialect.encoding]
    sql = (
        f"LOAD DATA LOCAL INFILE %s INTO TABLE {target} CHARACTER SET {charset} "
        "FIELDS TERMINATED BY %s OPTIONALLY ENCLOSED BY %s ESCAPED BY '' "
        f"LINES TERMINATED BY %s {'IGNORE 1 LINES' if dialect.header else ''} "
        f"({', '.join(targets)})"
    )
    if assignments:
        sql += " SET " + ", ".join(assignments)
    return sql, [str(pipe), dialect.delimiter, dialect.quote, info.line_terminator, *params]


@contextmanager
def named_pipe() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="lakehouse-load-") as folder:
        path = Path(folder) / "records.pipe"
        os.mkfifo(path, 0o600)
        yield path


def run_load(
    conn: Connection,  # type: ignore[type-arg]
    sql: str,
    params: list[str],
    pipe: Path,
    chunks: Iterable[bytes],
    on_bytes: Callable[[int], None] = lambda _: None,
) -> Outcome:
    """Run one LOAD DATA whose file is `pipe`, fed with `chunks` by a writer thread."""
    failure: list[BaseException] = []

    def feed() -> None:
        try:
            with open(pipe, "wb") as sink:
                for chunk in chunks:
                    sink.write(chunk)
                    on_bytes(len(chunk))
        except BrokenPipeError:
            pass  # MySQL stopped reading: the statement's own error says why
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            failure.append(exc)

    writer = threading.Thread(target=feed, name="load-data-feed", daemon=True)
    writer.start()
    outcome = Outcome()
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            result = getattr(
                conn, "_result", None
            )  # the OK packet's info string: "Records: n Deleted: 0 Skipped: n ..."
            match = _RECORDS.search((result.message or b"").decode() if result else "")
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
    finally:
        _release_writer(writer, pipe)
    if failure:
        raise failure[0]
    return outcome


def _release_writer(writer: threading.Thread, pipe: Path) -> None:
    """If MySQL never opened the pipe, open and close it so the writer stops waiting."""
    writer.join(timeout=0.2)
    while writer.is_alive():
        try:
            fd = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass
        writer.join(timeout=0.2)
