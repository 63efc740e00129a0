"""Contract changes against stored data: additive ones applied with the upsert history kept,
lossy ones refused (nothing changes) unless allowed and audited, the extract's key check, one
column set for every reader, and rejected rows that are not deletes. Real MariaDB, a local lake."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pymysql
import pytest

from ingest.core.contract import Contract
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import MySQLSettings
from ingest.extract import ExtractFailed, ExtractOptions, extract_dataset
from ingest.extract import batches as lakebatches
from ingest.load import LoadOptions, load_dataset
from ingest.load.audit import schema_changes
from ingest.load.schema_change import LossyChange

ORDERS: dict[str, Any] = {
    "name": "orders",
    "files": "orders*.csv",
    "mode": "upsert",
    "primary_key": ["order_id", "customer_id"],
    "columns": [
        {"name": "order_id", "type": "INT", "nullable": False},
        {"name": "customer_id", "type": "INT", "nullable": False},
        {"name": "amount", "type": "DECIMAL(12,4)"},
        {"name": "qty", "type": "INT"},
    ],
}


def contract(table: dict[str, Any]) -> Contract:
    return Contract.model_validate({"dataset": "shop", "tables": [table]})


def changed(**edits: Any) -> dict[str, Any]:
    """ORDERS with some columns edited: `amount={"type": ...}`, `qty=None` to drop it."""
    table = copy.deepcopy(ORDERS)
    columns = []
    for column in table["columns"]:
        edit = edits.get(column["name"], {})
        if edit is not None:
            columns.append({**column, **edit})
    table["columns"] = columns + edits.get("_add", [])
    for key in ("primary_key", "mode"):
        if key in edits:
            table[key] = edits[key]
    return table


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def rows(settings: MySQLSettings, database: str, table: str = "orders") -> list[dict[str, Any]]:
    conn = connect(settings, cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {quote_identifier(database)}.{quote_identifier(table)} ORDER BY 1, 2")
            result: list[dict[str, Any]] = list(cursor.fetchall())  # type: ignore[arg-type]
            return result
    finally:
        conn.close()


def load(c: Contract, source: Path, settings: MySQLSettings, database: str, **options: Any) -> Any:
    return load_dataset(c, source, settings, LoadOptions(database=database, **options))


@pytest.fixture()
def history(tmp_path: Path, mysql_settings: MySQLSettings, database: str) -> Path:
    """Two upsert loads: order 100 (qty 5) is only in the first file, so only the history holds it."""
    source = tmp_path / "files"
    write(source, "orders1.csv", "order_id,customer_id,amount,qty\n100,1,12345678.1234,5\n101,2,1.5,1\n")
    load(contract(ORDERS), source, mysql_settings, database)
    write(source, "orders2.csv", "order_id,customer_id,amount,qty\n101,2,2.5,2\n102,3,3,3\n")
    load(contract(ORDERS), source, mysql_settings, database)
    assert [r["order_id"] for r in rows(mysql_settings, database)] == [100, 101, 102]
    return source


def test_narrowing_a_stored_type_is_refused_and_changes_nothing(
    history: Path, mysql_settings: MySQLSettings, database: str
) -> None:
    before = rows(mysql_settings, database)
    narrowed = contract(changed(amount={"type": "DECIMAL(10,2)"}))
    with pytest.raises(LossyChange, match=r"orders\.amount changed from DECIMAL\(12,4\) to DECIMAL\(10,2\)") as error:
        load(narrowed, history, mysql_settings, database)
    assert "--allow-lossy orders.amount" in str(error.value)
    assert rows(mysql_settings, database) == before  # 12345678.1234 is still exact

    reports = load(narrowed, history, mysql_settings, database, allow_lossy=["orders.amount"])
    assert [c.kind for c in reports[0].changes] == ["narrowed"]
    after = {r["order_id"]: r["amount"] for r in rows(mysql_settings, database)}
    assert after[100] == Decimal("12345678.12")  # rounded, because the user said so
    [recorded] = schema_changes(connect(mysql_settings), database, "orders")
    assert (recorded["kind"], recorded["lossy"], recorded["values_affected"]) == ("narrowed", 1, 1)


def test_dropping_a_column_is_refused_unless_allowed_and_the_audit_counts_the_loss(
    history: Path, mysql_settings: MySQLSettings, database: str
) -> None:
    dropped = contract(changed(qty=None))
    with pytest.raises(LossyChange, match=r"orders\.qty \(INT\) dropped: its stored values would be lost"):
        load(dropped, history, mysql_settings, database)
    assert rows(mysql_settings, database)[0]["qty"] == 5  # order 100 kept its qty
    write(history, "orders2.csv", "order_id,customer_id,amount\n101,2,2.5\n102,3,3\n")
    load(dropped, history, mysql_settings, database, allow_lossy=["orders"])
    assert "qty" not in rows(mysql_settings, database)[0]
    [recorded] = schema_changes(connect(mysql_settings), database, "orders")
    assert (recorded["kind"], recorded["values_affected"]) == ("dropped", 3)


def test_an_added_column_keeps_the_upsert_history(history: Path, mysql_settings: MySQLSettings, database: str) -> None:
    added = contract(changed(_add=[{"name": "note", "type": "VARCHAR(10)"}]))
    write(history, "orders3.csv", "order_id,customer_id,amount,qty,note\n103,4,4,4,new\n")
    [report] = load(added, history, mysql_settings, database)
    assert [c.describe() for c in report.changes] == ["orders.note added (VARCHAR(10))"]
    stored = {r["order_id"]: (r["qty"], r["note"]) for r in rows(mysql_settings, database)}
    assert stored == {100: (5, None), 101: (2, None), 102: (3, None), 103: (4, "new")}


def test_a_not_null_column_added_to_an_upsert_is_refused(
    history: Path, mysql_settings: MySQLSettings, database: str
) -> None:
    required = contract(changed(_add=[{"name": "note", "type": "VARCHAR(10)", "nullable": False}]))
    with pytest.raises(LossyChange, match=r"added as NOT NULL .* stored rows have no value for it"):
        load(required, history, mysql_settings, database)


@pytest.mark.parametrize("how", ["renamed_from", "header"])
def test_a_rename_keeps_the_stored_values_under_the_new_name(
    history: Path, mysql_settings: MySQLSettings, database: str, how: str
) -> None:
    renamed = contract(changed(qty={"name": "quantity", how: "qty"}))
    if how == "renamed_from":
        write(history, "orders2.csv", "order_id,customer_id,amount,quantity\n101,2,2.5,2\n102,3,3,3\n")
    [report] = load(renamed, history, mysql_settings, database)
    assert [c.describe() for c in report.changes] == ["orders.qty renamed to quantity"]
    assert [(r["order_id"], r["quantity"]) for r in rows(mysql_settings, database)] == [(100, 5), (101, 2), (102, 3)]
    assert load(renamed, history, mysql_settings, database)[0].skipped  # applied once, then unchanged


def test_a_widened_type_is_applied_and_a_changed_key_is_refused(
    history: Path, mysql_settings: MySQLSettings, database: str
) -> None:
    widened = contract(changed(qty={"type": "BIGINT"}, amount={"type": "DECIMAL(20,6)"}))
    [report] = load(widened, history, mysql_settings, database)
    assert sorted(c.kind for c in report.changes) == ["widened", "widened"]
    assert rows(mysql_settings, database)[0]["amount"] == Decimal("12345678.123400")
    rekeyed = contract(changed(qty={"type": "BIGINT"}, amount={"type": "DECIMAL(20,6)"}, primary_key=["order_id"]))
    changed_key = r"orders's primary key changed from \(order_id, customer_id\) to \(order_id\)"
    with pytest.raises(LossyChange, match=changed_key):
        load(rekeyed, history, mysql_settings, database)


def extract(c: Contract, settings: MySQLSettings, lake: str, database: str, mode: str = "full") -> Any:
    return extract_dataset(c, settings, lake, ExtractOptions(database=database, mode=mode))  # type: ignore[arg-type]


def test_the_extract_refuses_a_key_mysql_does_not_hold(
    history: Path, tmp_path: Path, mysql_settings: MySQLSettings, database: str
) -> None:
    lake = str(tmp_path / "lake")
    write(history, "orders3.csv", "order_id,customer_id,amount,qty\n100,9,1,1\n")  # order 100 twice
    load(contract(ORDERS), history, mysql_settings, database)
    narrowed_key = contract(changed(primary_key=["order_id"]))
    with pytest.raises(ExtractFailed, match=r"primary key of .*orders \(order_id\) is not MySQL's primary key"):
        extract(narrowed_key, mysql_settings, lake, database)
    assert lakebatches.committed_batches(lake, "shop", "orders") == []  # no batch with a key its rows break


def read_with_duckdb(lake: str, table: str = "orders") -> list[dict[str, Any]]:
    con = duckdb.connect()
    result = con.execute(lakebatches.duckdb_sql(lake, "shop", table))
    names = [d[0] for d in result.description]
    return sorted((dict(zip(names, r, strict=True)) for r in result.fetchall()), key=lambda r: list(r.values()))


def read_with_python(lake: str, table: str = "orders") -> list[dict[str, Any]]:
    return sorted(lakebatches.read_current(lake, "shop", table).to_pylist(), key=lambda r: list(r.values()))


def test_every_reader_returns_the_current_columns_after_a_drop_and_a_rename(
    history: Path, tmp_path: Path, mysql_settings: MySQLSettings, database: str
) -> None:
    lake = str(tmp_path / "lake")
    extract(contract(ORDERS), mysql_settings, lake, database)
    write(history, "orders2.csv", "order_id,customer_id,quantity\n101,2,7\n")
    step = changed(qty={"name": "quantity", "renamed_from": "qty"}, amount=None)
    load(contract(step), history, mysql_settings, database, allow_lossy=["orders.amount"])
    extract(contract(step), mysql_settings, lake, database, mode="incremental")
    assert len(lakebatches.committed_batches(lake, "shop", "orders")) == 2  # the old batch still holds amount
    expected = sorted(rows(mysql_settings, database), key=lambda r: list(r.values()))
    assert list(expected[0]) == ["order_id", "customer_id", "quantity"]
    assert read_with_python(lake) == expected
    assert read_with_duckdb(lake) == expected
    assert lakebatches.current_columns(lake, "shop", "orders") == ["order_id", "customer_id", "quantity"]
    newest = lakebatches.committed_batches(lake, "shop", "orders")[-1].manifest
    assert newest.columns[-1].renamed_from == "qty"


CUSTOMERS: dict[str, Any] = {
    "name": "customers",
    "files": "customers.csv",
    "primary_key": ["id"],
    "cursor": "id",
    "columns": [
        {"name": "id", "type": "INT", "nullable": False},
        {"name": "name", "type": "VARCHAR(5)", "nullable": False},
    ],
}


def test_a_row_quarantined_from_a_replace_table_keeps_its_previous_version(
    tmp_path: Path, mysql_settings: MySQLSettings, database: str
) -> None:
    c = contract(CUSTOMERS)
    source = write(tmp_path / "files", "customers.csv", "id,name\n1,ann\n2,bob\n3,cy\n")
    lake = str(tmp_path / "lake")
    load(c, source, mysql_settings, database)
    extract(c, mysql_settings, lake, database)
    # Bob's new name is too long (quarantined); Cy is really gone from the file; Dee is new.
    write(source, "customers.csv", "id,name\n1,ann\n2,robert\n4,dee\n")
    [report] = load(c, source, mysql_settings, database, max_bad_rows=1)
    assert (report.total("rows_rejected"), report.rows_kept) == (1, 2)  # bob's and cy's stored versions
    stored = {r["id"]: r["name"] for r in rows(mysql_settings, database, "customers")}
    assert stored == {1: "ann", 2: "bob", 3: "cy", 4: "dee"}
    [result] = extract(c, mysql_settings, lake, database, mode="incremental")
    assert result.deleted == 0  # no tombstone for a key whose new version was bad
    assert {r["id"]: r["name"] for r in read_with_python(lake, "customers")} == stored

    write(source, "customers.csv", "id,name\n1,ann\n2,bob\n4,dee\n")  # clean: cy's delete now lands
    [report] = load(c, source, mysql_settings, database)
    assert report.rows_kept == 0
    [result] = extract(c, mysql_settings, lake, database, mode="incremental")
    assert result.deleted == 1
    assert {r["id"]: r["name"] for r in read_with_python(lake, "customers")} == {1: "ann", 2: "bob", 4: "dee"}
