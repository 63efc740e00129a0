"""Property-based tests of the load's promises, on generated files (hypothesis).

Files mix valid records (quoted newlines, doubled quotes, backslashes, `\\N` as text, multi-byte
text exactly at the maximum length, CR and CRLF inside quotes, LF or CRLF line ends chosen per
record) with every kind of defect. Invariants: each MySQL row equals a valid record as written,
no valid record is lost, every defective record is quarantined with its line, read = loaded +
quarantined in the audit, and a load killed at a random moment leaves the previous contents
byte for byte (or, if it got past the publish, the new ones), and a re-run converges.

`make test` runs a fixed-seed budget; `make bench` runs a larger one (HYPOTHESIS_PROFILE=bench).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.core.contract import load_contract
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import REPO_ROOT, MySQLSettings, audit_database
from ingest.load import LoadOptions, load_dataset, read_quarantine

settings.register_profile(
    "ci", max_examples=25, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile("bench", max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

NAME_LENGTH = 6
CONTRACT = {
    "tables": [
        {
            "name": "t",
            "files": "t.csv",
            "primary_key": ["id"],
            "dialect": {"null_tokens": ["", "NA"]},
            "columns": [
                {"name": "id", "type": "INT", "nullable": False},
                {"name": "name", "type": f"VARCHAR({NAME_LENGTH})"},
                {"name": "note", "type": "TEXT"},
                {"name": "day", "type": "DATE"},
                {"name": "amount", "type": "DECIMAL(7,2)"},
            ],
        }
    ]
}
DEFECTS = [
    "stray_quote",
    "text_after_quote",
    "too_few_fields",
    "too_many_fields",
    "lenient_date",
    "too_long",
    "bad_utf8",
    "duplicate_key",
    "bare_cr",
]

text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(',"\r\n\\N é€𝄞\t')),
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
    ),
    max_size=12,
)
short_text = st.one_of(
    st.text(alphabet=st.sampled_from(list('ab"\\, é𝄞\n')), max_size=NAME_LENGTH),
    st.text(alphabet=st.sampled_from(list("é€𝄞漢")), min_size=NAME_LENGTH, max_size=NAME_LENGTH),
)


@dataclass
class Row:
    id: int
    name: str
    note: str
    day: dt.date | None
    amount: Decimal | None
    quote_all: bool
    line_end: bytes
    defect: str | None


rows = st.builds(
    Row,
    id=st.just(0),
    name=short_text,
    note=text,
    day=st.one_of(st.none(), st.dates(dt.date(1000, 1, 1), dt.date(9999, 12, 31))),
    amount=st.one_of(st.none(), st.decimals(-99999, 99999, places=2, allow_nan=False, allow_infinity=False)),
    quote_all=st.booleans(),
    line_end=st.sampled_from([b"\n", b"\r\n"]),
    defect=st.one_of(st.none(), st.none(), st.none(), st.sampled_from(DEFECTS)),
)


def quoted(value: str, always: bool) -> str:
    if always or any(c in value for c in ',"\r\n') or value in ("", "NA"):
        return '"' + value.replace('"', '""') + '"'
    return value


def expected_text(value: str) -> str | None:
    return None if value in ("", "NA") else value


def write_file(records: list[Row]) -> tuple[bytes, dict[int, tuple[Any, ...]], dict[int, int]]:
    """The file's bytes, the rows MySQL must hold (by id), and the defective records (first line ->
    number of lines they span)."""
    out = [b"id,name,note,day,amount\n"]
    line = 2
    expected: dict[int, tuple[Any, ...]] = {}
    bad_lines: dict[int, int] = {}
    valid_ids: list[int] = []
    for number, row in enumerate(records):
        row.id = number + 1
        if row.defect == "duplicate_key" and valid_ids:
            row.id = valid_ids[number % len(valid_ids)]
        elif row.defect == "duplicate_key":
            row.defect = None
        fields = [
            str(row.id),
            quoted(row.name, row.quote_all),
            quoted(row.note, row.quote_all),
            row.day.isoformat() if row.day else "",
            f"{row.amount:.2f}" if row.amount is not None else "NA",
        ]
        raw_name: bytes | None = None
        if row.defect == "stray_quote":
            fields[1] = 'a"b'
        elif row.defect == "text_after_quote":
            fields[2] = '"x"y'
        elif row.defect == "too_few_fields":
            fields = fields[:-1]
        elif row.defect == "too_many_fields":
            fields.append("extra")
        elif row.defect == "lenient_date":
            fields[3] = ["69-12-31", "2024/1/5", "20240105", "70.1.1"][number % 4]
        elif row.defect == "too_long":
            fields[1] = "x" * (NAME_LENGTH + 1)
        elif row.defect == "bad_utf8":
            raw_name = b"a\xffb"
        elif row.defect == "bare_cr":
            fields[1] = "a\rb"
        encoded = [f.encode() for f in fields]
        if raw_name is not None:
            encoded[1] = raw_name
        record = b",".join(encoded) + row.line_end
        if row.defect:
            bad_lines[line] = max(1, record.count(b"\n"))
        else:
            valid_ids.append(row.id)
            expected[row.id] = (row.id, expected_text(row.name), expected_text(row.note), row.day, row.amount)
        out.append(record)
        line += record.count(b"\n")
    return b"".join(out), expected, bad_lines


def fresh_contract(folder: Path, dataset: str) -> Path:
    path = folder / f"{dataset}.yml"
    path.write_text(yaml.safe_dump({"dataset": dataset, **CONTRACT}), encoding="utf-8")
    return path


def table_rows(settings_: MySQLSettings, database: str) -> dict[int, tuple[Any, ...]]:
    conn = connect(settings_)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT id, name, note, day, amount FROM {quote_identifier(database)}.t")
            return {r[0]: tuple(r) for r in cursor.fetchall()}
    finally:
        conn.close()


def drop(settings_: MySQLSettings, database: str) -> None:
    conn = connect(settings_)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(database)}")
    conn.close()


@given(records=st.lists(rows, min_size=1, max_size=40))
def test_every_record_loads_exactly_or_is_quarantined(
    records: list[Row], tmp_path_factory: pytest.TempPathFactory, mysql_settings: MySQLSettings
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    database = f"test_prop_{uuid.uuid4().hex[:10]}"
    body, expected, bad_lines = write_file(records)
    (folder / "t.csv").write_bytes(body)
    contract = load_contract(fresh_contract(folder, database))
    options = LoadOptions(database=database, max_bad_rows=2 * len(records), quarantine_root=folder / "q")
    try:
        [report] = load_dataset(contract, folder, mysql_settings, options)
        assert table_rows(mysql_settings, database) == expected
        [file] = report.files
        quarantined = list(read_quarantine(file.quarantine)) if file.quarantine else []
        lines = {r.line for r in quarantined}
        # Every defective record is quarantined from its first line. A defective record may come
        # out in pieces (a bare CR ends a record; a quoted field that runs over a line end and then
        # breaks a rule is cut at that line end and the rest read again), never with a valid one.
        assert set(bad_lines) <= lines
        spans = {first + k for first, count in bad_lines.items() for k in range(count)}
        assert lines <= spans
        assert all(r.raw and r.raw in body for r in quarantined)
        assert file.rows_loaded == len(expected)
        assert file.rows_read == file.rows_loaded + file.rows_rejected == len(expected) + len(quarantined)
        conn = connect(mysql_settings)
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT rows_read, rows_loaded, rows_rejected, status FROM "
                f"{quote_identifier(audit_database())}.file_loads WHERE database_name = %s",
                (database,),
            )
            assert cursor.fetchall() == ((file.rows_read, len(expected), len(quarantined), "succeeded"),)
        conn.close()
    finally:
        drop(mysql_settings, database)


@pytest.fixture(scope="module")
def kill_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kill")
    lines = [b"id,name,note,day,amount\n"]
    lines += [
        b'%d,n%d,"a, ""quoted""\nnote",2024-01-%02d,%d.50\n' % (i, i % 1000, 1 + i % 28, i % 9999)
        for i in range(1, 200_001)
    ]
    (folder / "t.csv").write_bytes(b"".join(lines))
    return folder


@settings(max_examples=6)
@given(delay=st.floats(0.0, 4.0))
def test_a_load_killed_at_any_moment_leaves_old_or_new_contents(
    delay: float, kill_folder: Path, mysql_settings: MySQLSettings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    database = f"test_kill_{uuid.uuid4().hex[:10]}"
    contract_path = fresh_contract(tmp_path_factory.mktemp("c"), database)
    old = tmp_path_factory.mktemp("old")
    (old / "t.csv").write_bytes(b"id,name,note,day,amount\n1,old,,,\n")
    try:
        load_dataset(load_contract(contract_path), old, mysql_settings, LoadOptions(database=database))
        before = table_rows(mysql_settings, database)
        command = [sys.executable, "-m", "ingest", "load", "--contract", str(contract_path)]
        command += ["--source", str(kill_folder), "--database", database, "--no-progress", "--lock-timeout", "60"]
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        after = table_rows(mysql_settings, database)
        assert after == before or len(after) == 200_000
        rerun = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
        final = table_rows(mysql_settings, database)
        assert len(final) == 200_000 and final[7][1] == "n7" and final[7][2] == 'a, "quoted"\nnote'
    finally:
        drop(mysql_settings, database)
