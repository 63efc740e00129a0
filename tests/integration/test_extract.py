"""MySQL -> lake: exact round trips (local folder and gs:// on a real emulator), incremental
extracts, a SIGKILL mid-way, retention, and the errors a user meets. Real MariaDB, no mocks."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pymysql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ingest.cli import app
from ingest.core import lake as lakes
from ingest.core.contract import Contract, Table
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import REPO_ROOT, MySQLSettings, audit_database
from ingest.extract import ExtractFailed, ExtractOptions, TableResult, extract_dataset
from ingest.extract import batches as lakebatches
from ingest.load import LoadOptions, load_dataset
from tests.conftest import TPCH_ROWS
from tests.gcs_emulator import Emulator, gcs_bucket, gcs_emulator  # noqa: F401
from tests.mysql_tables import create_table, run_sql
from tests.net import free_port

Conn = pymysql.connections.Connection  # type: ignore[type-arg]


# -- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture(scope="module")
def tpch_db(mysql_settings: MySQLSettings, tpch_dir: Path, tpch_contract: Contract) -> Iterator[str]:
    """TPC-H 0.01 loaded once for the read-only tests of this module."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=name))
    yield name
    conn = connect(mysql_settings)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)}")
    conn.close()


def lake_uri(path: Path) -> str:
    return path.resolve().as_uri()


def extract(
    contract: Contract, settings: MySQLSettings, lake: str, database: str, **options: Any
) -> dict[str, TableResult]:
    results = extract_dataset(contract, settings, lake, ExtractOptions(database=database, **options))
    return {r.table: r for r in results}


def columns_and_order(table: Table) -> tuple[str, str]:
    columns = ", ".join(quote_identifier(c.name) for c in table.columns)
    order = ", ".join(quote_identifier(k) for k in table.primary_key or [c.name for c in table.columns])
    return columns, order


def mysql_rows(settings: MySQLSettings, database: str, table: Table, where: str = "") -> list[tuple[Any, ...]]:
    columns, order = columns_and_order(table)
    conn = connect(settings, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {quote_identifier(table.name)} {where} ORDER BY {order}")
            return [tuple(row) for row in cursor.fetchall()]
    finally:
        conn.close()


def duckdb_rows(files: str | list[str], table: Table) -> list[tuple[Any, ...]]:
    """The rows DuckDB reads from Parquet files (a glob or a list), in primary-key order."""
    columns, order = columns_and_order(table)
    query = f"SELECT {columns} FROM read_parquet($files) ORDER BY {order}"
    return [tuple(row) for row in duckdb.connect().execute(query, {"files": files}).fetchall()]


def duckdb_types(glob: str) -> dict[str, str]:
    rows = duckdb.connect().execute("DESCRIBE SELECT * FROM read_parquet($g)", {"g": glob}).fetchall()
    return {row[0]: row[1] for row in rows}


def audit_rows(settings: MySQLSettings, lake: str, table: str) -> list[tuple[Any, ...]]:
    conn = connect(settings)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT status, mode, batch_id, source_rows, rows_written, watermark_low, watermark_high "
                f"FROM {quote_identifier(audit_database())}.extracts "
                "WHERE lake_uri = %s AND table_name = %s ORDER BY extract_id",
                (lake, table),
            )
            return [tuple(row) for row in cursor.fetchall()]
    finally:
        conn.close()


def local_files(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file()}


# -- exact round trips -------------------------------------------------------------------


def test_full_extract_to_local_lake_equals_mysql_row_for_row(
    tpch_db: str, tpch_contract: Contract, mysql_settings: MySQLSettings, tmp_path: Path
) -> None:
    lake = lake_uri(tmp_path / "lake")
    results = extract(tpch_contract, mysql_settings, lake, tpch_db, workers=2)

    assert {name: r.rows for name, r in results.items()} == TPCH_ROWS
    for table in tpch_contract.tables:
        result = results[table.name]
        assert result.status == "committed" and result.source_rows == result.rows
        glob = str(tmp_path / "lake" / "raw" / "tpch" / table.name / "**" / "*.parquet")
        # One full extract into an empty lake: exactly one copy of every row, types intact.
        assert duckdb_rows(glob, table) == mysql_rows(mysql_settings, tpch_db, table), table.name
        types = duckdb_types(glob)
        for column in table.columns:
            expected = {"DECIMAL": "DECIMAL(15,2)", "DATE": "DATE", "INT": "INTEGER", "BIGINT": "BIGINT"}
            assert types[column.name] == expected.get(column.type.base, "VARCHAR"), column.name
        batches = lakebatches.committed_batches(lake, "tpch", table.name)
        assert [b.id for b in batches] == [result.batch]
        manifest = batches[0].manifest
        assert (manifest.mode, manifest.rows, manifest.source_rows) == ("full", result.rows, result.rows)
        assert [c.name for c in manifest.columns] == [c.name for c in table.columns]
        high = manifest.watermark.high if manifest.watermark else None
        assert (high is None) == (table.cursor is None)
        assert audit_rows(mysql_settings, lake, table.name) == [
            ("committed", "full", result.batch, result.rows, result.rows, None, high)
        ]
    orders = lakebatches.committed_batches(lake, "tpch", "orders")[0].manifest
    assert orders.watermark is not None and orders.watermark.high == str(
        max(r[0] for r in mysql_rows(mysql_settings, tpch_db, tpch_contract.table("orders")))
    )
    assert not [p for p in (tmp_path / "lake" / "_staging").rglob("*") if p.is_file()]


def test_extract_to_gcs_emulator_verified_through_the_client(
    tpch_db: str,
    tpch_contract: Contract,
    mysql_settings: MySQLSettings,
    gcs_bucket: str,  # noqa: F811
    gcs_emulator: Emulator,  # noqa: F811
    tmp_path: Path,
) -> None:
    lake = f"gs://{gcs_bucket}/warehouse/lake"
    results = extract(tpch_contract, mysql_settings, lake, tpch_db, workers=2)
    assert {name: r.rows for name, r in results.items()} == TPCH_ROWS

    bucket = gcs_emulator.client().bucket(gcs_bucket)
    names = {blob.name for blob in gcs_emulator.client().list_blobs(gcs_bucket)}
    expected_names = set()
    for table in tpch_contract.tables:
        (batch,) = lakebatches.committed_batches(lake, "tpch", table.name)
        expected_names.add(f"warehouse/lake/{batch.prefix}/manifest.json")
        downloaded = []
        for entry, key in zip(batch.manifest.files, batch.file_keys(), strict=True):
            blob = bucket.get_blob(f"warehouse/lake/{key}")
            expected_names.add(blob.name)
            local = tmp_path / table.name / entry.path
            local.parent.mkdir(parents=True, exist_ok=True)
            blob.download_to_filename(str(local))
            crc, md5 = lakes.file_checksums(local)
            assert (blob.crc32c, blob.md5_hash, blob.size) == (entry.crc32c, md5, entry.bytes)
            assert crc == entry.crc32c
            downloaded.append(str(local))
        assert duckdb_rows(downloaded, table) == mysql_rows(mysql_settings, tpch_db, table), table.name
    assert names == expected_names  # nothing else: no staging objects, no partial batches


@pytest.mark.parametrize("reader", ["connectorx", "pymysql"])
def test_types_and_nulls_are_exact(reader: str, mysql_settings: MySQLSettings, database: str, tmp_path: Path) -> None:
    contract = Contract.model_validate(
        {
            "dataset": "typed",
            "tables": [
                {
                    "name": "everything",
                    "files": "x.csv",
                    "primary_key": ["id"],
                    "columns": [
                        {"name": "id", "type": "INT", "nullable": False},
                        {"name": "big", "type": "BIGINT"},
                        {"name": "small", "type": "SMALLINT"},
                        {"name": "tiny", "type": "TINYINT"},
                        {"name": "flag", "type": "BOOLEAN"},
                        {"name": "price", "type": "DECIMAL(15,2)"},
                        {"name": "ratio", "type": "DECIMAL(20,10)"},
                        {"name": "score", "type": "DOUBLE"},
                        {"name": "day", "type": "DATE"},
                        {"name": "at", "type": "DATETIME(6)"},
                        {"name": "at0", "type": "DATETIME"},
                        {"name": "code", "type": "CHAR(3)"},
                        {"name": "note", "type": "VARCHAR(20)"},
                        {"name": "body", "type": "TEXT"},
                    ],
                }
            ],
        }
    )
    table = contract.tables[0]
    rows = [
        (1, 2**63 - 1, 2**15 - 1, -(2**7), 1, Decimal("9999999999999.99"), Decimal("1234567890.0123456789"),
         0.1, dt.date(1000, 1, 1), dt.datetime(2024, 2, 29, 23, 59, 59, 999999), dt.datetime(2024, 1, 2, 3, 4, 5),
         "abc", "héllo ✓ 😀", "x" * 1000),
        (2, -(2**63), -(2**15), 2**7 - 1, 0, Decimal("-0.01"), Decimal("-0.0000000001"), -1e300,
         dt.date(9999, 12, 31), dt.datetime(1970, 1, 1, 0, 0, 0, 1), dt.datetime(9999, 12, 31, 23, 59, 59),
         "", "", ""),
        (3, None, None, None, None, None, None, None, None, None, None, None, None, None),
    ]  # fmt: skip
    create_table(mysql_settings, database, table, rows)
    lake = lake_uri(tmp_path / "lake")
    result = extract(contract, mysql_settings, lake, database, reader=reader)["everything"]
    assert (result.reader, result.rows) == (reader, 3)

    (batch,) = lakebatches.committed_batches(lake, "typed", "everything")
    data = pq.read_table(str(tmp_path / "lake" / batch.file_keys()[0]))
    utc = pa.timestamp("us", tz="UTC")
    assert data.schema == pa.schema(
        [
            pa.field("id", pa.int32(), nullable=False),
            pa.field("big", pa.int64()),
            pa.field("small", pa.int16()),
            pa.field("tiny", pa.int8()),
            pa.field("flag", pa.bool_()),
            pa.field("price", pa.decimal128(15, 2)),
            pa.field("ratio", pa.decimal128(20, 10)),
            pa.field("score", pa.float64()),
            pa.field("day", pa.date32()),
            pa.field("at", utc),
            pa.field("at0", utc),
            pa.field("code", pa.string()),
            pa.field("note", pa.string()),
            pa.field("body", pa.string()),
            pa.field("_lh_deleted", pa.bool_(), nullable=False),  # tombstones (incremental batches)
        ]
    )

    def as_lake(value: Any, column: str) -> Any:
        if column == "flag" and value is not None:
            return bool(value)
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=dt.UTC)  # stored UTC wall-clock -> a UTC instant
        return value

    names = [c.name for c in table.columns]
    expected = [{n: as_lake(v, n) for n, v in zip(names, row, strict=True)} for row in rows]
    assert data.drop_columns(["_lh_deleted"]).sort_by("id").to_pylist() == expected
    assert lakebatches.read_current(lake, "typed", "everything").sort_by("id").to_pylist() == expected


def test_wide_decimals_fall_back_to_the_exact_reader(
    mysql_settings: MySQLSettings, database: str, tmp_path: Path
) -> None:
    contract = Contract.model_validate(
        {
            "dataset": "wide",
            "tables": [
                {
                    "name": "amounts",
                    "files": "x.csv",
                    "columns": [
                        {"name": "amount", "type": "DECIMAL(38,4)"},
                        {"name": "tiny", "type": "DECIMAL(30,12)"},
                    ],
                }
            ],
        }
    )
    values = [(Decimal("1234567890123456789012345678901234.5678"), Decimal("123456789012345678.123456789012"))]
    create_table(mysql_settings, database, contract.tables[0], values)
    lake = lake_uri(tmp_path / "lake")
    with pytest.raises(ExtractFailed, match="connectorx would round"):
        extract_dataset(contract, mysql_settings, lake, ExtractOptions(database=database, reader="connectorx"))
    result = extract(contract, mysql_settings, lake, database)["amounts"]
    assert result.reader == "pymysql"
    (batch,) = lakebatches.committed_batches(lake, "wide", "amounts")
    data = pq.read_table(str(tmp_path / "lake" / batch.file_keys()[0]))
    assert data.schema.field("amount").type == pa.decimal128(38, 4)
    assert lakebatches.read_current(lake, "wide", "amounts").to_pylist() == [
        {"amount": values[0][0], "tiny": values[0][1]}
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), precision=st.integers(1, 38))
def test_every_decimal_shape_reads_back_exactly_with_the_chosen_reader(
    data: st.DataObject, precision: int, mysql_settings: MySQLSettings, database: str, tmp_path_factory: Any
) -> None:
    """The reader `auto` picks must not round or overflow any DECIMAL(p,s): DECIMAL(19,0) holding
    9e18 once broke connectorx, which scales every value to 10 places in 28 digits."""
    scale = data.draw(st.integers(0, min(precision, 30)))
    widest = Decimal(("9" * (precision - scale) or "0") + ("." + "9" * scale if scale else ""))  # 99...9.99...9
    values = [widest, widest.copy_negate(), Decimal(0), Decimal(1).scaleb(-scale)]  # exact beyond 28 digits
    contract = Contract.model_validate(
        {
            "dataset": "shapes",
            "tables": [
                {"name": "n", "files": "n.csv", "columns": [{"name": "v", "type": f"DECIMAL({precision},{scale})"}]}
            ],
        }
    )
    conn = connect(mysql_settings)
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}")
        cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(database)}.n")  # the previous example's
    conn.close()
    create_table(mysql_settings, database, contract.tables[0], [(v,) for v in values])
    lake = lake_uri(tmp_path_factory.mktemp("shapes"))
    extract_dataset(contract, mysql_settings, lake, ExtractOptions(database=database))
    read = sorted(r["v"] for r in lakebatches.read_current(lake, "shapes", "n").to_pylist())
    assert read == sorted(values)


# -- incremental -------------------------------------------------------------------------


def test_incremental_takes_only_new_rows_and_then_nothing(
    mysql_settings: MySQLSettings, database: str, tpch_dir: Path, tpch_contract: Contract, tmp_path: Path
) -> None:
    load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=database, tables=["orders", "lineitem"]))
    lake = lake_uri(tmp_path / "lake")
    tables = ["orders", "lineitem"]
    first = extract(tpch_contract, mysql_settings, lake, database, mode="incremental", tables=tables)
    assert {n: (r.mode, r.rows) for n, r in first.items()} == {
        "orders": ("full", TPCH_ROWS["orders"]),
        "lineitem": ("full", TPCH_ROWS["lineitem"]),
    }

    shift = 10_000_000
    run_sql(
        mysql_settings,
        database,
        "CREATE TEMPORARY TABLE picked AS SELECT o_orderkey FROM orders ORDER BY o_orderkey LIMIT 7",
        f"INSERT INTO orders SELECT o_orderkey + {shift}, o_custkey, o_orderstatus, o_totalprice, o_orderdate, "
        "o_orderpriority, o_clerk, o_shippriority, CONCAT(o_comment, ' (new)') FROM orders "
        "WHERE o_orderkey IN (SELECT o_orderkey FROM picked)",
        f"INSERT INTO lineitem SELECT l_orderkey + {shift}, l_partkey, l_suppkey, l_linenumber, l_quantity, "
        "l_extendedprice, l_discount, l_tax, l_returnflag, l_linestatus, l_shipdate, l_commitdate, l_receiptdate, "
        "l_shipinstruct, l_shipmode, l_comment FROM lineitem WHERE l_orderkey IN (SELECT o_orderkey FROM picked)",
    )
    second = extract(tpch_contract, mysql_settings, lake, database, mode="incremental", tables=tables)
    for name, key in (("orders", "o_orderkey"), ("lineitem", "l_orderkey")):
        table = tpch_contract.table(name)
        new_rows = mysql_rows(mysql_settings, database, table, f"WHERE {key} > {shift}")
        assert len(new_rows) >= 7 and second[name].mode == "incremental" and second[name].rows == len(new_rows)
        batches = lakebatches.committed_batches(lake, "tpch", name)
        assert [b.mode for b in batches] == ["full", "incremental"]
        assert duckdb_rows([str(tmp_path / "lake" / k) for k in batches[1].file_keys()], table) == new_rows
        current = lakebatches.current_files(lake, "tpch", name)
        assert duckdb_rows(current, table) == mysql_rows(mysql_settings, database, table)
        assert batches[1].manifest.watermark is not None
        assert batches[1].manifest.watermark.low == batches[0].manifest.watermark.high  # type: ignore[union-attr]

    before = local_files(tmp_path / "lake")
    third = extract(tpch_contract, mysql_settings, lake, database, mode="incremental", tables=tables)
    assert {n: (r.status, r.rows, r.batch) for n, r in third.items()} == {
        "orders": ("unchanged", 0, None),
        "lineitem": ("unchanged", 0, None),
    }
    assert local_files(tmp_path / "lake") == before  # nothing written
    assert [row[0] for row in audit_rows(mysql_settings, lake, "orders")] == ["committed", "committed", "unchanged"]


def test_incremental_on_an_updated_at_cursor_picks_up_changed_rows(
    mysql_settings: MySQLSettings, database: str, tmp_path: Path
) -> None:
    contract = Contract.model_validate(
        {
            "dataset": "shop",
            "tables": [
                {
                    "name": "accounts",
                    "files": "accounts.csv",
                    "primary_key": ["id"],
                    "cursor": "updated_at",
                    "columns": [
                        {"name": "id", "type": "INT", "nullable": False},
                        {"name": "balance", "type": "DECIMAL(12,2)", "nullable": False},
                        {"name": "updated_at", "type": "DATETIME(6)", "nullable": False},
                    ],
                }
            ],
        }
    )
    t0 = dt.datetime(2026, 1, 1, 8, 0, 0, 123456)
    rows = [(i, Decimal(f"{i}00.10"), t0 + dt.timedelta(seconds=i)) for i in (1, 2, 3)]
    create_table(mysql_settings, database, contract.tables[0], rows)
    lake = lake_uri(tmp_path / "lake")
    assert extract(contract, mysql_settings, lake, database, mode="incremental")["accounts"].rows == 3

    later = dt.datetime(2026, 1, 2, 9, 30, 0, 654321)
    conn = connect(mysql_settings, database)
    with conn.cursor() as cursor:
        cursor.execute("UPDATE accounts SET balance = %s, updated_at = %s WHERE id = 2", (Decimal("-5.55"), later))
        cursor.execute("INSERT INTO accounts VALUES (4, %s, %s)", (Decimal("4.00"), later))
    conn.close()
    result = extract(contract, mysql_settings, lake, database, mode="incremental")["accounts"]
    assert (result.mode, result.rows, result.watermark) == ("incremental", 2, "2026-01-02 09:30:00.654321")
    batch = lakebatches.committed_batches(lake, "shop", "accounts")[-1]
    changed = pq.read_table(str(tmp_path / "lake" / batch.file_keys()[0])).drop_columns(["_lh_deleted"])
    changed = changed.sort_by("id").to_pylist()
    assert changed == [
        {"id": 2, "balance": Decimal("-5.55"), "updated_at": later.replace(tzinfo=dt.UTC)},
        {"id": 4, "balance": Decimal("4.00"), "updated_at": later.replace(tzinfo=dt.UTC)},
    ]
    again = extract(contract, mysql_settings, lake, database, mode="incremental")["accounts"]
    assert (again.status, again.rows) == ("unchanged", 0)
    assert len(lakebatches.committed_batches(lake, "shop", "accounts")) == 2


# -- crashes, failures, retention --------------------------------------------------------


def test_sigkill_mid_extract_leaves_nothing_visible_and_a_rerun_completes(
    mysql_settings: MySQLSettings, database: str, tpch_dir: Path, tpch_contract: Contract, tmp_path: Path
) -> None:
    load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=database, tables=["lineitem"]))
    root = tmp_path / "lake"
    lake = lake_uri(root)
    command = [
        sys.executable, "-m", "ingest", "extract", "--dataset", "tpch", "--database", database, "--lake", lake,
        "--tables", "lineitem", "--reader", "pymysql", "--batch-rows", "500", "--row-group-rows", "500",
        "--max-file-mb", "1", "--no-progress",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    staging = root / "_staging" / "tpch" / "lineitem"
    deadline = time.monotonic() + 60
    while not list(staging.rglob("part-*.parquet")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL, "the extract finished before it could be killed"
    assert list(staging.rglob("part-*.parquet")), "killed before it wrote anything"

    # Nothing visible: no Parquet under raw/, no committed batch; the audit says it was running.
    assert not list((root / "raw").rglob("*.parquet"))
    assert lakebatches.committed_batches(lake, "tpch", "lineitem") == []
    assert [row[0] for row in audit_rows(mysql_settings, lake, "lineitem")] == ["running"]

    runner = CliRunner()
    rerun = runner.invoke(
        app, ["extract", "--dataset", "tpch", "--database", database, "--lake", lake, "--tables", "lineitem"]
    )
    assert rerun.exit_code == 0, rerun.output
    assert "extract into" in rerun.output
    (batch,) = lakebatches.committed_batches(lake, "tpch", "lineitem")
    assert batch.manifest.rows == TPCH_ROWS["lineitem"]
    glob = str(root / "raw" / "tpch" / "lineitem" / "**" / "*.parquet")
    assert duckdb.connect().execute("SELECT COUNT(*) FROM read_parquet($g)", {"g": glob}).fetchone() == (
        TPCH_ROWS["lineitem"],
    )
    assert not [p for p in staging.rglob("*") if p.is_file()]
    assert [row[0] for row in audit_rows(mysql_settings, lake, "lineitem")] == ["interrupted", "committed"]


def test_a_failed_upload_leaves_no_committed_batch(
    gcs_bucket: str,  # noqa: F811
    gcs_emulator: Emulator,  # noqa: F811
    tmp_path: Path,
) -> None:
    lake = lakes.parse_lake(f"gs://{gcs_bucket}/lake")
    staging = tmp_path / "batch=20260101T000000000000Z-abcdef"
    staging.mkdir()
    pq.write_table(pa.table({"x": [1, 2, 3]}), staging / "part-00000.parquet")
    (staging / "part-00001.parquet").symlink_to(tmp_path / "vanished.parquet")  # unreadable when its turn comes
    (staging / "manifest.json").write_text("{}\n")
    prefix = lakebatches.batch_prefix("ds", "t", "20260101T000000000000Z-abcdef")
    with pytest.raises(FileNotFoundError):
        lakes.publish(lake, staging, prefix, "manifest.json")
    names = [b.name for b in gcs_emulator.client().list_blobs(gcs_bucket)]
    assert names == [f"lake/{prefix}/part-00000.parquet"]  # the first file went up, the manifest did not
    assert lakebatches.committed_batches(lake, "ds", "t") == []
    assert lakebatches.remove_uncommitted(lake, "ds", "t") == ["20260101T000000000000Z-abcdef"]
    assert list(gcs_emulator.client().list_blobs(gcs_bucket)) == []


def test_retention_keeps_the_latest_full_snapshots_and_cleans_uncommitted_batches(
    tpch_db: str, tpch_contract: Contract, mysql_settings: MySQLSettings, tmp_path: Path
) -> None:
    lake = lake_uri(tmp_path / "lake")
    ids = [
        extract(tpch_contract, mysql_settings, lake, tpch_db, tables=["nation"], keep=2, grace_seconds=0)[
            "nation"
        ].batch
        for _ in range(3)
    ]
    assert [b.id for b in lakebatches.committed_batches(lake, "tpch", "nation")] == ids[1:]
    assert [b.id for b in lakebatches.current_batches(lake, "tpch", "nation")] == ids[2:]

    orphan = tmp_path / "lake" / "raw" / "tpch" / "nation" / "batch=29990101T000000000000Z-000000"
    orphan.mkdir()
    pq.write_table(pa.table({"n_nationkey": pa.array([99], pa.int32())}), orphan / "part-00000.parquet")
    assert [b.id for b in lakebatches.committed_batches(lake, "tpch", "nation")] == ids[1:]  # invisible
    last = extract(tpch_contract, mysql_settings, lake, tpch_db, tables=["nation"], keep=1, grace_seconds=0)
    assert not orphan.exists()
    assert [b.id for b in lakebatches.committed_batches(lake, "tpch", "nation")] == [last["nation"].batch]
    assert sorted(last["nation"].removed) == ids[1:]


def test_retention_grace_lets_a_reader_that_listed_a_batch_finish(
    tpch_db: str, tpch_contract: Contract, mysql_settings: MySQLSettings, tmp_path: Path
) -> None:
    """The issue's reader: it lists the current files, an extract with --keep 1 runs, then it reads."""
    lake = lake_uri(tmp_path / "lake")
    first = extract(tpch_contract, mysql_settings, lake, tpch_db, tables=["nation"], keep=1)["nation"]
    listed = lakebatches.current_files(lake, "tpch", "nation")
    second = extract(tpch_contract, mysql_settings, lake, tpch_db, tables=["nation"], keep=1)["nation"]
    assert second.removed == []  # superseded a moment ago: kept for the default 24 h
    assert duckdb.connect().execute("select count(*) from read_parquet($f)", {"f": listed}).fetchone() == (25,)

    # Once the grace has passed (a clock a day ahead), retention removes the superseded batch.
    day_later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=24, seconds=1)
    root = lakes.parse_lake(lake)
    assert lakebatches.apply_retention(root, "tpch", "nation", keep=1, now=day_later) == [first.batch]
    assert [b.id for b in lakebatches.committed_batches(lake, "tpch", "nation")] == [second.batch]
    hour_later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    third = extract(tpch_contract, mysql_settings, lake, tpch_db, tables=["nation"], keep=1)["nation"]
    assert lakebatches.apply_retention(root, "tpch", "nation", keep=1, now=hour_later) == []
    assert [b.id for b in lakebatches.committed_batches(lake, "tpch", "nation")] == [second.batch, third.batch]


# -- errors a user meets -----------------------------------------------------------------


def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> tuple[int, str]:
    """Run `extract --dataset tpch ARGS` in-process: its exit code and its output, unwrapped."""
    result = CliRunner().invoke(app, ["extract", "--dataset", "tpch", *args], env=env)
    return result.exit_code, " ".join(result.output.split())


def test_unknown_table_is_a_usage_error(tpch_db: str, tmp_path: Path) -> None:
    code, said = invoke("--database", tpch_db, "--lake", lake_uri(tmp_path), "--tables", "orders,nosuch")
    assert code == 2
    assert "dataset tpch has no table 'nosuch'" in said
    assert not (tmp_path / "raw").exists()


def test_missing_mysql_table_says_to_load_first(tmp_path: Path) -> None:
    code, said = invoke(
        "--database", f"test_absent_{uuid.uuid4().hex[:8]}", "--lake", lake_uri(tmp_path), "--tables", "region"
    )
    assert code == 1
    assert "has no table region; load it first" in said


def test_missing_bucket_is_a_clear_error(tpch_db: str, gcs_emulator: Emulator) -> None:  # noqa: F811
    env = {"STORAGE_EMULATOR_HOST": gcs_emulator.host}
    code, said = invoke("--database", tpch_db, "--lake", "gs://no-such-bucket-here/lake", env=env)
    assert code == 1
    assert "bucket 'no-such-bucket-here' does not exist" in said


def test_unreachable_storage_is_a_clear_error(tpch_db: str) -> None:
    host = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    code, said = invoke("--database", tpch_db, "--lake", "gs://some-bucket/lake", env={"STORAGE_EMULATOR_HOST": host})
    assert code == 1
    assert f"cannot reach Google Cloud Storage at {host}" in said
    assert time.monotonic() - started < 20


def test_missing_credentials_is_a_clear_error(tpch_db: str, tmp_path: Path) -> None:
    env = {
        "STORAGE_EMULATOR_HOST": None,
        "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "missing-key.json"),
        "NO_GCE_CHECK": "True",
    }
    code, said = invoke("--database", tpch_db, "--lake", "gs://some-bucket/lake", env=env)
    assert code == 1
    assert "no Google Cloud credentials" in said
    assert "GOOGLE_APPLICATION_CREDENTIALS" in said
