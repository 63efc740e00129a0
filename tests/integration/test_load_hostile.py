"""The first hop against files and situations nobody wrote by hand: stray quotes, MySQL's lenient
dates, mixed line ends, half-failed upserts, other people's tables, a server asking for files,
and a process killed at every step of a load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.core.contract import ContractError, load_contract
from ingest.core.mysql import InfileRefused, connect, quote_identifier
from ingest.core.settings import REPO_ROOT, MySQLSettings, audit_database
from ingest.load import (
    LoadError,
    LoadLocked,
    LoadOptions,
    TooManyBadRows,
    load_dataset,
    publish_run,
    read_quarantine,
)
from ingest.load.schema_change import LossyChange


def contract_file(tmp_path: Path, dataset: str, tables: list[dict[str, Any]]) -> Path:
    path = tmp_path / f"{dataset}.yml"
    path.write_text(yaml.safe_dump({"dataset": dataset, "tables": tables}), encoding="utf-8")
    return path


def simple_table(name: str = "t", mode: str = "replace", last: str = "VARCHAR(100)", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "files": f"{name}.csv",
        "mode": mode,
        "primary_key": ["id"],
        "columns": [{"name": "id", "type": "INT", "nullable": False}, {"name": "name", "type": last}],
        **extra,
    }


def select(conn: Any, database: str, table: str = "t") -> list[tuple[Any, ...]]:
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {quote_identifier(database)}.{quote_identifier(table)} ORDER BY 1")
        return list(cursor.fetchall())


def audit_rows(conn: Any, database: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT table_name, status, rows_read, rows_loaded, rows_rejected FROM "
            f"{quote_identifier(audit_database())}.file_loads WHERE database_name = %s ORDER BY load_id",
            (database,),
        )
        return list(cursor.fetchall())


def tables_in(conn: Any, database: str) -> list[str]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (database,))
        return sorted(r[0] for r in cursor.fetchall())


def test_a_stray_quote_never_merges_records(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, mysql: Any
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "t.csv").write_bytes(b'id,name\n1,"abc\n2,x"y\n3,z\n')
    contract = load_contract(contract_file(tmp_path, database, [simple_table()]))
    [report] = load_dataset(contract, source, mysql_settings, LoadOptions(database=database, max_bad_rows=5))
    assert select(mysql, database) == [(3, "z")]
    [file] = report.files
    # The quote opened on line 2 breaks a rule on line 3: line 2 is the bad record, and line 3 is
    # read again on its own (its stray quote makes it bad too). Nothing is merged into a row.
    assert (file.rows_read, file.rows_loaded, file.rows_rejected) == (3, 1, 2)
    assert file.quarantine is not None
    first, second = read_quarantine(file.quarantine)
    assert (first.line, first.raw) == (2, b'1,"abc\n') and "after the closing quote" in first.reason
    assert (second.line, second.raw) == (3, b'2,x"y\n') and "quote inside an unquoted field" in second.reason
    assert audit_rows(mysql, database) == [("t", "succeeded", 3, 1, 2)]


def test_an_unclosed_quote_or_a_bare_cr_swallows_no_later_record(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, mysql: Any
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "t.csv").write_bytes(b'id,name\n1,ok\n2,"oops\n3,fine\n4,"x"y\n5,fine\n6,cr\r7,fine\n8,"open\n9,last\n')
    contract = load_contract(contract_file(tmp_path, database, [simple_table()]))
    [report] = load_dataset(contract, source, mysql_settings, LoadOptions(database=database, max_bad_rows=9))
    assert select(mysql, database) == [(1, "ok"), (3, "fine"), (5, "fine"), (7, "fine"), (9, "last")]
    assert report.files[0].quarantine is not None
    assert [r.line for r in read_quarantine(report.files[0].quarantine)] == [3, 5, 7, 8]


LENIENT = [b"69-12-31", b"70.1.1", b"2024/1/5", b"20240105", b"24-01-05 10:00", b"2024-1-5", b"2024-01-05T00:00"]


@pytest.mark.parametrize("dirty_neighbour", [False, True], ids=["clean-file", "file-with-another-bad-row"])
def test_mysql_lenient_dates_are_quarantined_whatever_else_the_file_holds(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, mysql: Any, dirty_neighbour: bool
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    body = b"id,name\n" + b"".join(b"%d,%s\n" % (i, value) for i, value in enumerate(LENIENT, start=1))
    body += b"100,2024-01-05\n" + (b"101,not-a-date\n" if dirty_neighbour else b"")
    (source / "t.csv").write_bytes(body)
    contract = load_contract(contract_file(tmp_path, database, [simple_table(last="DATE")]))
    [report] = load_dataset(contract, source, mysql_settings, LoadOptions(database=database, max_bad_rows=50))
    assert select(mysql, database) == [(100, date(2024, 1, 5))]
    assert report.files[0].rows_rejected == len(LENIENT) + dirty_neighbour


@pytest.mark.parametrize("last", ["VARCHAR(5)", "DATE", "TEXT"])
def test_line_ends_are_found_per_record(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, mysql: Any, last: str
) -> None:
    """A header ending in LF, records ending in CRLF or LF: the CR is never data."""
    source = tmp_path / "in"
    source.mkdir()
    value = {"VARCHAR(5)": "héllo", "DATE": "2024-02-29", "TEXT": "x\\N\\t"}[last]
    encoded = value.encode()
    (source / "t.csv").write_bytes(b'id,name\n1,%s\r\n2,%s\n3,"%s\r\n"\r\n' % (encoded, encoded, encoded))
    contract = load_contract(contract_file(tmp_path, database, [simple_table(last=last)]))
    [report] = load_dataset(contract, source, mysql_settings, LoadOptions(database=database, max_bad_rows=5))
    expected: Any = date(2024, 2, 29) if last == "DATE" else value
    rows = select(mysql, database)
    assert rows[:2] == [(1, expected), (2, expected)]
    # a CRLF inside quotes is data; as a date it is not a date, and as VARCHAR(5) too long
    if last == "TEXT":
        assert rows[2] == (3, value + "\r\n")
    else:
        assert len(rows) == 2 and report.files[0].rows_rejected == 1


def test_mixed_line_ends_with_many_defects_reconcile(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, mysql: Any
) -> None:
    """300 records, every third one CRLF, with ordinary defects: the load finishes and counts add up."""
    source = tmp_path / "in"
    source.mkdir()
    records, good = [], {}
    for i in range(1, 301):
        end = b"\r\n" if i % 3 == 0 else b"\n"
        if i % 7 == 0:
            records.append(b"%d,%s,extra%s" % (i, b"x" * 4, end))  # too many fields
        elif i % 11 == 0:
            records.append(b"abc,%s%s" % (b"y", end))  # bad key
        else:
            text = b"v" * (i % 6)  # up to the column's maximum length, 5
            if i % 6 == 0:
                text = b"toolong"
            else:
                good[i] = text.decode()
            records.append(b"%d,%s%s" % (i, text, end))
    (source / "t.csv").write_bytes(b"id,name\n" + b"".join(records))
    contract = load_contract(contract_file(tmp_path, database, [simple_table(last="VARCHAR(5)")]))
    [report] = load_dataset(contract, source, mysql_settings, LoadOptions(database=database, max_bad_rows=300))
    assert dict(select(mysql, database)) == good
    file = report.files[0]
    assert file.rows_read == 300 == file.rows_loaded + file.rows_rejected


def test_two_upserts_publish_together_or_not_at_all(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, mysql: Any
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.csv").write_bytes(b"id,name\n1,a1\n")
    (source / "b.csv").write_bytes(b"id,name\n1,b1\n")
    tables = [simple_table("a", "upsert"), simple_table("b", "upsert")]
    load_dataset(
        load_contract(contract_file(tmp_path, database, tables)), source, mysql_settings, LoadOptions(database=database)
    )
    # a stages cleanly, b's file has a row its contract refuses: b cannot be published, so neither is.
    (source / "a.csv").write_bytes(b"id,name\n1,a2\n2,a3\n")
    (source / "b.csv").write_bytes(b"id,name\n1,b2\nX,b3\n")
    with pytest.raises(TooManyBadRows, match="is not an integer"):
        load_dataset(
            load_contract(contract_file(tmp_path, database, tables)),
            source,
            mysql_settings,
            LoadOptions(database=database),
        )
    assert select(mysql, database, "a") == [(1, "a1")]
    assert select(mysql, database, "b") == [(1, "b1")]
    assert [r[1] for r in audit_rows(mysql, database)] == ["succeeded", "succeeded", "failed", "failed"]
    assert tables_in(mysql, database) == ["a", "b"]


def test_the_loader_removes_only_its_own_tables_and_a_refused_load_touches_nothing(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, mysql: Any
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "t.csv").write_bytes(b"id,name\n1,x\n")
    (source / "u.csv").write_bytes(b"id,name\n1,y\n")
    contract = load_contract(contract_file(tmp_path, database, [simple_table("t"), simple_table("u")]))
    with mysql.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {quote_identifier(database)}")
        for name in ("_stg_t", "_old_t", "_stg_mine"):  # someone else's tables with the old prefixes
            cursor.execute(f"CREATE TABLE {quote_identifier(database)}.{name} (x INT)")
    # A staged run waiting for its publish (as the Airflow DAG leaves it between tasks).
    load_dataset(
        contract, source, mysql_settings, LoadOptions(database=database, tables=["t"], run_id="r1", publish=False)
    )
    staged = [n for n in tables_in(mysql, database) if n.startswith("_lh_")]
    assert len(staged) == 1
    holder = connect(mysql_settings)
    with holder.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, 0)", (f"lakehouse_load.{database}",))
    try:
        with pytest.raises(LoadLocked):
            load_dataset(contract, source, mysql_settings, LoadOptions(database=database, tables=["u"]))
    finally:
        holder.close()
    assert [n for n in tables_in(mysql, database) if n.startswith("_lh_")] == staged  # untouched
    # The same run stages its second table: the first stays; publishing shows both at once.
    load_dataset(
        contract, source, mysql_settings, LoadOptions(database=database, tables=["u"], run_id="r1", publish=False)
    )
    assert "t" not in tables_in(mysql, database)
    assert publish_run(mysql_settings, database, "r1") == ["t", "u"]
    assert tables_in(mysql, database) == ["_old_t", "_stg_mine", "_stg_t", "t", "u"]


def test_reserved_prefix_is_refused_in_contracts(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="reserved"):
        load_contract(contract_file(tmp_path, "ds", [simple_table("_lh_x")]))


def test_the_connection_sends_no_file_the_server_names(database: str, mysql_settings: MySQLSettings) -> None:
    """A LOAD DATA LOCAL naming a client file (as a hostile server would ask for one) is refused."""
    secret = Path(__file__)
    conn = connect(mysql_settings, local_infile=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {quote_identifier(database)}")
            cursor.execute(f"CREATE TABLE {quote_identifier(database)}.x (line TEXT)")
            with pytest.raises(InfileRefused, match="refused the server's request for local file"):
                cursor.execute(f"LOAD DATA LOCAL INFILE %s INTO TABLE {quote_identifier(database)}.x", (str(secret),))
            cursor.execute(f"SELECT COUNT(*) FROM {quote_identifier(database)}.x")
            assert cursor.fetchone() == (0,)  # nothing was read, and the connection is still usable
    finally:
        conn.close()


@pytest.mark.parametrize("step", ["staged", "before-rename", "after-rename"])
def test_a_kill_at_each_step_leaves_old_or_new_contents_and_a_rerun_converges(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, mysql: Any, step: str
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    path = contract_file(tmp_path, database, [simple_table("a"), simple_table("b", "upsert")])
    contract = load_contract(path)
    (source / "a.csv").write_bytes(b"id,name\n1,old\n")
    (source / "b.csv").write_bytes(b"id,name\n1,old\n")
    load_dataset(contract, source, mysql_settings, LoadOptions(database=database))
    (source / "a.csv").write_bytes(b"id,name\n1,new\n2,new\n")
    (source / "b.csv").write_bytes(b"id,name\n2,new\n")
    old = (select(mysql, database, "a"), select(mysql, database, "b"))
    new = ([(1, "new"), (2, "new")], [(1, "old"), (2, "new")])

    command = [sys.executable, "-m", "ingest", "load", "--contract", str(path), "--source", str(source)]
    command += ["--database", database, "--no-progress", "--lock-timeout", "60"]
    env = {**os.environ, "LAKEHOUSE_LOAD_STOP_AT": step}
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _state(process.pid) != "T":
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    seen = (select(mysql, database, "a"), select(mysql, database, "b"))
    assert seen == (new if step == "after-rename" else old)  # never a mix

    rerun = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert (select(mysql, database, "a"), select(mysql, database, "b")) == new
    assert tables_in(mysql, database) == ["a", "b"]
    with mysql.cursor() as cursor:
        cursor.execute(
            f"SELECT status FROM {quote_identifier(audit_database())}.load_runs WHERE database_name = %s "
            "ORDER BY started_at",
            (database,),
        )
        statuses = [r[0] for r in cursor.fetchall()]
    killed = "succeeded" if step == "after-rename" else "interrupted"
    assert statuses == ["succeeded", killed, "succeeded"]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "?"


# -- found by an adversarial review --------------------------------------------------------


def load(tmp_path: Path, database: str, settings: MySQLSettings, spec: list[dict[str, Any]], **options: Any) -> Any:
    contract = load_contract(contract_file(tmp_path, database, spec))
    return load_dataset(contract, tmp_path / "in", settings, LoadOptions(database=database, **options))


def write(tmp_path: Path, files: dict[str, bytes]) -> None:
    for name, body in files.items():
        path = tmp_path / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


@pytest.mark.parametrize(
    ("key_type", "first", "again"),
    [("DECIMAL(7,2)", b"1.50", b"1.5"), ("DECIMAL(7,2)", b"-0", b"0.00"), ("CHAR(3)", b"a", b"a ")],
)
def test_keys_equal_to_mysql_are_duplicates(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, key_type: str, first: bytes, again: bytes
) -> None:
    table = simple_table()
    table["columns"][0]["type"] = key_type
    write(tmp_path, {"t.csv": b"id,name\n%s,first\n%s,second\n" % (first, again)})
    [report] = load(tmp_path, database, mysql_settings, [table], max_bad_rows=1)
    [rejected] = read_quarantine(report.files[0].quarantine)
    assert rejected.line == 3 and "first seen at line 2" in rejected.reason


def test_a_composite_key_is_compared_in_key_order_whatever_the_header_order(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, mysql: Any
) -> None:
    table = {
        "name": "t",
        "files": "t*.csv",
        "primary_key": ["id", "k"],
        "columns": [
            {"name": "id", "type": "INT", "nullable": False},
            {"name": "k", "type": "INT", "nullable": False},
            {"name": "v", "type": "VARCHAR(5)"},
        ],
    }
    write(tmp_path, {"t1.csv": b"id,k,v\n1,2,a\n", "t2.csv": b"k,id,v\n1,2,b\n2,1,dup\n"})
    [report] = load(tmp_path, database, mysql_settings, [table], max_bad_rows=1)
    assert select(mysql, database) == [(1, 2, "a"), (2, 1, "b")]
    [rejected] = read_quarantine(report.files[1].quarantine)
    assert rejected.line == 3 and "(1, 2)" in rejected.reason and "earlier file" in rejected.reason


def test_same_named_files_in_two_folders_keep_their_own_quarantine(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings
) -> None:
    table = {**simple_table(), "files": "*/t.csv"}
    write(tmp_path, {"a/t.csv": b"id,name\n1,ok\nX,bad-a\n", "b/t.csv": b"id,name\n2,ok\nY,bad-b\n"})
    [report] = load(tmp_path, database, mysql_settings, [table], max_bad_rows=1)
    paths = [f.quarantine for f in report.files]
    assert paths[0] != paths[1]
    assert [r.raw for p in paths for r in read_quarantine(p)] == [b"X,bad-a\n", b"Y,bad-b\n"]


def test_skip_sees_a_copied_file_and_a_changed_contract(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, mysql: Any
) -> None:
    table = {**simple_table(), "files": "t*.csv", "primary_key": []}
    write(tmp_path, {"t1.csv": b"id,name\n1,abcdef\n"})
    load(tmp_path, database, mysql_settings, [table])
    write(tmp_path, {"t2.csv": b"id,name\n1,abcdef\n"})  # a byte-identical second file
    load(tmp_path, database, mysql_settings, [table])
    assert len(select(mysql, database)) == 2
    table["columns"][1]["type"] = "VARCHAR(3)"  # stricter rules: the same files are loaded again
    with pytest.raises(LossyChange, match=r"t\.name"):  # narrowing the stored column is refused first
        load(tmp_path, database, mysql_settings, [table])
    with pytest.raises(TooManyBadRows, match="longer than VARCHAR"):
        load(tmp_path, database, mysql_settings, [table], allow_lossy=["t.name"])


def test_a_failed_stage_task_leaves_its_siblings_files_staged_and_the_run_publishes_later(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings, mysql: Any
) -> None:
    tables = [simple_table("a", "upsert"), simple_table("b", "upsert")]
    write(tmp_path, {"a.csv": b"id,name\nX,bad\n", "b.csv": b"id,name\n1,b1\n"})
    load(tmp_path, database, mysql_settings, tables, tables=["b"], run_id="r", publish=False)
    with pytest.raises(TooManyBadRows):
        load(tmp_path, database, mysql_settings, tables, tables=["a"], run_id="r", publish=False)
    write(tmp_path, {"a.csv": b"id,name\n1,a1\n"})  # fixed, and the task retried
    load(tmp_path, database, mysql_settings, tables, tables=["a"], run_id="r", publish=False)
    assert publish_run(mysql_settings, database, "r") == ["a", "b"]
    assert [(r[0], r[1]) for r in audit_rows(mysql, database)] == [
        ("b", "succeeded"),
        ("a", "failed"),
        ("a", "succeeded"),
    ]


def test_quarantine_keeps_exact_bytes_of_a_latin1_file(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings
) -> None:
    table = {**simple_table(last="VARCHAR(5)"), "dialect": {"encoding": "latin1"}}
    write(tmp_path, {"t.csv": b"id,name\n1,caf\xe9 is too long\n"})
    [report] = load(tmp_path, database, mysql_settings, [table], max_bad_rows=1)
    [rejected] = read_quarantine(report.files[0].quarantine)
    assert rejected.raw == b"1,caf\xe9 is too long\n"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dialect": {"delimiter": "§"}}, "ASCII"),
        ({"columns": [{"name": "id", "type": "TEXT", "nullable": False}]}, "cannot be a key"),
    ],
)
def test_contracts_mysql_or_the_loader_cannot_honour_are_refused(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ContractError, match=message):
        load_contract(contract_file(tmp_path, "ds", [{**simple_table(), **change}]))


def test_two_columns_named_alike_never_leave_one_of_them_empty(
    tmp_path: Path, database: str, mysql_settings: MySQLSettings
) -> None:
    table = simple_table()
    table["columns"] += [{"name": "code_num", "type": "INT", "header": "Code"}, {"name": "code", "type": "INT"}]
    write(tmp_path, {"t.csv": b"id,name,code\n1,x,5\n"})
    with pytest.raises(LoadError, match=r"missing \['code'\]"):
        load(tmp_path, database, mysql_settings, [table])


def test_the_audit_database_is_not_a_load_target(tmp_path: Path, mysql_settings: MySQLSettings) -> None:
    write(tmp_path, {"t.csv": b"id,name\n1,x\n"})
    with pytest.raises(LoadError, match="is the audit database"):
        load(tmp_path, audit_database(), mysql_settings, [simple_table()])
