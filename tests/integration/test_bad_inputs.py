"""A corpus of bad inputs: every row is loaded exactly or quarantined with its line and reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
import pytest
import yaml

from ingest.core.contract import Contract, ContractError, load_contract
from ingest.core.mysql import quote_identifier
from ingest.core.settings import MySQLSettings
from ingest.load import FileReport, LoadError, LoadOptions, TooManyBadRows, load_dataset, read_quarantine

HEADER = b"id,amount,day,label\n"
COLUMNS = [
    {"name": "id", "type": "INT", "nullable": False},
    {"name": "amount", "type": "DECIMAL(7,2)", "nullable": False},
    {"name": "day", "type": "DATE"},
    {"name": "label", "type": "VARCHAR(8)"},
]


def make_contract(tmp_path: Path, dataset: str, **dialect: Any) -> Contract:
    data = {
        "dataset": dataset,
        "tables": [
            {
                "name": "facts",
                "files": "facts*.csv",
                "primary_key": ["id"],
                "dialect": {"null_tokens": ["", "NA"], **dialect},
                "columns": COLUMNS,
            }
        ],
    }
    path = tmp_path / "contract.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_contract(path)


def rows(conn: pymysql.connections.Connection, database: str) -> list[tuple[Any, ...]]:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT id, amount, day, label FROM {quote_identifier(database)}.facts ORDER BY id")
        return list(cursor.fetchall())


def quarantined(report: FileReport) -> list[tuple[int, str, bytes]]:
    assert report.quarantine is not None
    return [(r.line, r.reason, r.raw) for r in read_quarantine(report.quarantine)]


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    """The folder of CSV files a test loads."""
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


@dataclass
class Case:
    body: bytes
    loaded_ids: list[int]
    rejects: list[tuple[int, str]] = field(default_factory=list)  # (line, part of the reason)


CASES = {
    "na_token_in_not_null": Case(b"1,1.50,2024-01-31,a\n2,NA,,b\n", [1], [(3, "NULL ('NA') in a NOT NULL column")]),
    "too_few_fields": Case(b"1,1.00,2024-01-01,a\n2,2.00,2024-01-02\n", [1], [(3, "expected 4 fields, found 3")]),
    "too_many_fields": Case(b"1,1.00,2024-01-01,a,extra\n2,2.00,,b\n", [2], [(2, "expected 4 fields, found 5")]),
    "bad_number": Case(b"1,abc,2024-01-01,a\n2,2.00,,b\n", [2], [(2, "'abc' is not a decimal number")]),
    "too_precise": Case(b"1,1.005,2024-01-01,a\n2,2.50,,b\n", [2], [(2, "more than 2 decimal places")]),
    "too_large": Case(b"1,123456.00,2024-01-01,a\n2,2.50,,b\n", [2], [(2, "too many digits")]),
    "bad_date": Case(
        b"1,1.00,2024-02-30,a\n2,1.00,31/01/2024,b\n3,1.00,,c\n",
        [3],
        [(2, "valid calendar date"), (3, "is not a date")],
    ),
    "too_long": Case(b"1,1.00,,abcdefghi\n2,1.00,,abcdefgh\n", [2], [(2, "longer than VARCHAR(8)")]),
    "null_in_not_null": Case(b"1,,2024-01-01,a\n2,1.00,NA,NA\n", [2], [(2, "NULL ('') in a NOT NULL column")]),
    "duplicate_key": Case(
        b"1,1.00,,a\n2,1.00,,b\n1,9.00,,c\n", [1, 2], [(4, "duplicate primary key (1,) (first seen at line 2)")]
    ),
    "truncated_last_line": Case(b"1,1.00,2024-01-01,a\n2,2.0", [1], [(3, "expected 4 fields, found 2")]),
    "unterminated_quote": Case(b'1,1.00,,a\n2,2.00,,"open\n', [1], [(3, "malformed CSV")]),
    "non_utf8": Case(b"1,1.00,,caf\xe9\n2,1.00,,ok\n", [2], [(2, "invalid utf-8 bytes at line 2")]),
    "bad_then_good_after_multiline": Case(
        b'1,1.00,,"tw\nline"\n2,x,,b\n3,3.00,,c\n', [1, 3], [(4, "'x' is not a decimal number")]
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_rows_are_quarantined_with_line_and_reason(
    name: str,
    tmp_path: Path,
    source: Path,
    database: str,
    mysql_settings: MySQLSettings,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    case = CASES[name]
    (source / "facts.csv").write_bytes(HEADER + case.body)
    contract = make_contract(tmp_path, database)
    options = LoadOptions(database=database, max_bad_rows=10, quarantine_root=tmp_path / "q")
    [report] = load_dataset(contract, source, mysql_settings, options)
    [file] = report.files
    assert [r[0] for r in rows(mysql, database)] == case.loaded_ids
    assert file.rows_loaded == len(case.loaded_ids)
    assert file.rows_rejected == len(case.rejects)
    assert file.rows_read == file.rows_loaded + file.rows_rejected
    if case.rejects:
        found = quarantined(file)
        for (line, part), (found_line, reason, _) in zip(case.rejects, found, strict=True):
            assert found_line == line
            assert part in reason
        # Nothing is lost: the quarantined record is the source's exact bytes.
        source_lines = (HEADER + case.body).split(b"\n")
        for line, _reason, record in found:
            assert source_lines[line - 1].rstrip(b"\r").startswith(record.split(b"\n")[0])
    else:
        assert file.quarantine is None


def test_values_survive_exactly(
    tmp_path: Path,
    source: Path,
    database: str,
    mysql_settings: MySQLSettings,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    """Quoted newlines and delimiters, a BOM, CRLF line ends, NULL tokens and a literal 'NULL' text."""
    body = b'\xef\xbb\xbfid,amount,day,label\r\n1,-1.5,2024-01-31,"a,\r\nb"\r\n2,0.10,NA,""\r\n3,7,,"say ""hi"""\r\n'
    (source / "facts.csv").write_bytes(body)
    [report] = load_dataset(make_contract(tmp_path, database), source, mysql_settings, LoadOptions(database=database))
    assert report.files[0].rows_rejected == 0
    from datetime import date
    from decimal import Decimal

    assert rows(mysql, database) == [
        (1, Decimal("-1.50"), date(2024, 1, 31), "a,\r\nb"),
        (2, Decimal("0.10"), None, None),  # "" is a NULL token, quoted or not
        (3, Decimal("7.00"), None, 'say "hi"'),
    ]


def test_past_max_bad_rows_the_load_fails_and_the_table_keeps_its_contents(
    tmp_path: Path,
    source: Path,
    database: str,
    mysql_settings: MySQLSettings,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    contract = make_contract(tmp_path, database)
    (source / "facts.csv").write_bytes(HEADER + b"1,1.00,,first\n")
    load_dataset(contract, source, mysql_settings, LoadOptions(database=database))
    (source / "facts.csv").write_bytes(HEADER + b"1,1.00,,new\n2,oops,,x\n3,3.00,,y\n")
    with pytest.raises(TooManyBadRows) as error:
        load_dataset(contract, source, mysql_settings, LoadOptions(database=database))
    message = str(error.value)
    assert "facts.csv" in message and "line 3" in message and "'oops' is not a decimal number" in message
    assert rows(mysql, database) == [(1, 1, None, "first")]
    # One bad row allowed: the rest is published.
    load_dataset(contract, source, mysql_settings, LoadOptions(database=database, max_bad_rows=1))
    assert [r[3] for r in rows(mysql, database)] == ["new", "y"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"id,amount,label\n1,1.00,a\n", "missing ['day']"),
        (b"id,amount,day,label,secret\n", "not in the contract ['secret']"),
    ],
)
def test_whole_file_problems_fail_before_anything_changes(
    tmp_path: Path,
    source: Path,
    database: str,
    mysql_settings: MySQLSettings,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
    content: bytes,
    message: str,
) -> None:
    contract = make_contract(tmp_path, database)
    (source / "facts.csv").write_bytes(HEADER + b"1,1.00,,kept\n")
    load_dataset(contract, source, mysql_settings, LoadOptions(database=database))
    (source / "facts.csv").write_bytes(content)
    with pytest.raises(LoadError, match=r"facts\.csv") as error:
        load_dataset(contract, source, mysql_settings, LoadOptions(database=database, force=True))
    assert message in str(error.value)
    assert rows(mysql, database) == [(1, 1, None, "kept")]


def test_header_may_reorder_columns(
    tmp_path: Path,
    source: Path,
    database: str,
    mysql_settings: MySQLSettings,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    (source / "facts.csv").write_bytes(b"LABEL,id,day,amount\nz,5,2024-05-01,2.25\n")
    load_dataset(make_contract(tmp_path, database), source, mysql_settings, LoadOptions(database=database))
    from datetime import date
    from decimal import Decimal

    assert rows(mysql, database) == [(5, Decimal("2.25"), date(2024, 5, 1), "z")]


def test_duplicates_across_files_of_one_table_are_quarantined(
    tmp_path: Path,
    source: Path,
    database: str,
    mysql_settings: MySQLSettings,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    (source / "facts_1.csv").write_bytes(HEADER + b"1,1.00,,a\n2,2.00,,b\n")
    (source / "facts_2.csv").write_bytes(HEADER + b"3,3.00,,c\n2,9.99,,dup\n")
    options = LoadOptions(database=database, max_bad_rows=1)
    [report] = load_dataset(make_contract(tmp_path, database), source, mysql_settings, options)
    assert [r[0] for r in rows(mysql, database)] == [1, 2, 3]
    second = report.files[1]
    assert second.rows_rejected == 1
    assert "earlier file" in quarantined(second)[0][1]


def test_upsert_updates_by_key_and_keeps_other_rows(
    tmp_path: Path,
    source: Path,
    database: str,
    mysql_settings: MySQLSettings,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    contract = make_contract(tmp_path, database)
    contract.tables[0].mode = "upsert"
    (source / "facts.csv").write_bytes(HEADER + b"1,1.00,,one\n2,2.00,,two\n")
    load_dataset(contract, source, mysql_settings, LoadOptions(database=database))
    (source / "facts.csv").write_bytes(HEADER + b"2,2.50,,two v2\n3,3.00,,three\n")
    load_dataset(contract, source, mysql_settings, LoadOptions(database=database))
    assert [(r[0], r[3]) for r in rows(mysql, database)] == [(1, "one"), (2, "two v2"), (3, "three")]


def test_injection_in_names_is_refused_before_sql(tmp_path: Path) -> None:
    data = {
        "dataset": "ds",
        "tables": [{"name": "x`; DROP DATABASE mysql; --", "files": "x.csv", "columns": COLUMNS}],
    }
    path = tmp_path / "evil.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ContractError, match="not a safe identifier"):
        load_contract(path)
