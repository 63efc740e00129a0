"""The marts follow MySQL through incremental extracts and incremental dbt runs, and follow the
configured lake: late lines, a line at the watermark, deletes, a new order; models selected alone
(no stale batch pinned in a view); a second lake with the same metastore; a new full snapshot; a
table with no committed batch. Real MariaDB, real dbt on a local Spark session, DuckDB to read."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.core.contract import Contract
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import MySQLSettings
from ingest.load import LoadOptions, load_dataset
from tests.mysql_tables import run_sql
from tests.pipeline import Pipeline

MODELS = ["stg_tpch__orders", "stg_tpch__lineitem", "fct_order_lines", "fct_orders"]


def mysql_marts(settings: MySQLSettings, database: str) -> dict[str, Any]:
    """What the two marts must hold, computed by MySQL: lines per month, and the orders."""
    conn = connect(settings, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT DATE_FORMAT(o_orderdate, '%Y-%m-01'), COUNT(*), SUM(l_extendedprice), SUM(l_quantity) "
                "FROM lineitem JOIN orders ON l_orderkey = o_orderkey GROUP BY 1 ORDER BY 1"
            )
            months = [tuple(row) for row in cursor.fetchall()]
            cursor.execute("SELECT COUNT(*), SUM(o_totalprice), SUM(o_orderkey) FROM orders")
            orders = tuple(cursor.fetchone() or ())
    finally:
        conn.close()
    return {"months": months, "orders": orders}


def lake_marts(lake: Path) -> dict[str, Any]:
    """The same figures, read by DuckDB from the marts' Parquet folders in `lake`."""
    lines = f"read_parquet('{lake}/lakehouse/fct_order_lines/*/*.parquet', hive_partitioning = true)"
    orders = f"read_parquet('{lake}/lakehouse/fct_orders/*.parquet')"
    with duckdb.connect() as con:
        months = con.execute(
            f"select strftime(cast(order_month as date), '%Y-%m-01'), count(*), sum(extended_price), sum(quantity) "
            f"from {lines} group by 1 order by 1"
        ).fetchall()
        totals = con.execute(f"select count(*), sum(total_price), sum(order_key) from {orders}").fetchone()
    return {"months": [tuple(r) for r in months], "orders": tuple(totals or ())}


@pytest.fixture(scope="module")
def chain(
    tmp_path_factory: pytest.TempPathFactory, tpch_dir: Path, tpch_contract: Contract, mysql_settings: MySQLSettings
) -> Iterator[Pipeline]:
    database = f"test_marts_{uuid.uuid4().hex[:10]}"
    load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=database, force=True))
    pipeline = Pipeline(tmp_path_factory.mktemp("marts") / "state with space", tpch_dir, database)
    try:
        yield pipeline
    finally:
        run_sql(mysql_settings, database, f"DROP DATABASE {quote_identifier(database)}")


def extract(chain: Pipeline, *args: str) -> None:
    command = [sys.executable, "-m", "ingest", "extract", "--dataset", "tpch", "--database", chain.database]
    result = chain.run(*command, *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_marts_follow_mysql_and_the_configured_lake(chain: Pipeline, mysql_settings: MySQLSettings) -> None:
    db = chain.database
    extract(chain, "--mode", "incremental")  # the first is a full snapshot
    first = chain.dbt("run", "--select", *MODELS)
    assert "built in full" not in first.stdout
    assert lake_marts(chain.lake) == mysql_marts(mysql_settings, db)

    # Late and changed rows, through an incremental extract (cursors: the order keys, no look-back).
    run_sql(
        mysql_settings,
        db,
        # a late line for an old order (its key is far below the watermark: found by the key scan)
        "INSERT INTO lineitem SELECT l_orderkey, l_partkey, l_suppkey, 8, 5, 1000.00, l_discount, l_tax, "
        "l_returnflag, l_linestatus, l_shipdate, l_commitdate, l_receiptdate, l_shipinstruct, l_shipmode, 'late' "
        "FROM lineitem WHERE l_orderkey = 1 AND l_linenumber = 1",
        # a line of the newest order, exactly at the watermark, corrected
        "UPDATE lineitem SET l_quantity = l_quantity + 1 WHERE l_orderkey = (SELECT MAX(o_orderkey) FROM orders) "
        "AND l_linenumber = 1",
        # a line deleted, and an order deleted with its lines, in other months
        "DELETE FROM lineitem WHERE l_orderkey = 3 AND l_linenumber = 2",
        "DELETE FROM lineitem WHERE l_orderkey = 5",
        "DELETE FROM orders WHERE o_orderkey = 5",
        # a new order, with a line, in a new month
        "INSERT INTO orders SELECT 900000001, o_custkey, o_orderstatus, 99.99, '1999-01-15', o_orderpriority, "
        "o_clerk, o_shippriority, 'new' FROM orders WHERE o_orderkey = 1",
        "INSERT INTO lineitem SELECT 900000001, l_partkey, l_suppkey, 1, 1, 99.99, l_discount, l_tax, "
        "l_returnflag, l_linestatus, l_shipdate, l_commitdate, l_receiptdate, l_shipinstruct, l_shipmode, 'new' "
        "FROM lineitem WHERE l_orderkey = 1 AND l_linenumber = 1",
    )
    extract(chain, "--mode", "incremental")
    # The marts alone: the staging views are not rebuilt, and must not serve an old batch.
    second = chain.dbt("run", "--select", "fct_order_lines", "fct_orders")
    assert "built in full" not in second.stdout and "incremental" in second.stdout
    assert lake_marts(chain.lake) == mysql_marts(mysql_settings, db)

    # A month loses every line: insert_overwrite cannot empty it, so the table is built in full.
    first_month = "(SELECT o_orderkey FROM orders WHERE o_orderdate < '1992-02-01')"
    run_sql(mysql_settings, db, f"DELETE FROM lineitem WHERE l_orderkey IN {first_month}")
    extract(chain, "--mode", "incremental")
    emptied = chain.dbt("run", "--select", "fct_order_lines", "fct_orders")
    assert "a month lost every line" in emptied.stdout
    assert lake_marts(chain.lake) == mysql_marts(mysql_settings, db)
    assert "1992-01-01" not in [month for month, *_ in lake_marts(chain.lake)["months"]]

    # Another lake, same metastore: the marts must be rebuilt there, never mixed with the first.
    run_sql(
        mysql_settings,
        db,
        "DELETE FROM lineitem WHERE l_orderkey % 2 = 0",
        "DELETE FROM orders WHERE o_orderkey % 2 = 0",
    )
    other = chain.root / "other lake #2"
    chain.env["LAKEHOUSE_LAKE_URI"] = str(other)
    extract(chain)
    third = chain.dbt("run", "--select", *MODELS)
    assert "is not under the configured lake" in third.stdout
    assert lake_marts(other) == mysql_marts(mysql_settings, db)
    assert lake_marts(chain.lake) != lake_marts(other)  # the first lake's marts were left alone

    # A new full snapshot: what changed is unknown, so the table is built in full.
    run_sql(mysql_settings, db, "UPDATE lineitem SET l_extendedprice = l_extendedprice + 1 WHERE l_orderkey < 100")
    extract(chain, "--mode", "full")
    fourth = chain.dbt("run", "--select", "fct_order_lines", "fct_orders")
    assert "has a full snapshot" in fourth.stdout
    assert lake_marts(other) == mysql_marts(mysql_settings, db)

    # A raw table with no committed batch is an error, not an empty mart.
    for manifest in (other / "raw" / "tpch" / "orders").glob("batch=*/manifest.json"):
        manifest.unlink()
    failed = chain.run(chain_dbt(), "run", "--select", "fct_orders")
    assert failed.returncode != 0
    assert "no committed batch of" in failed.stdout + failed.stderr
    assert lake_marts(other)["orders"] == mysql_marts(mysql_settings, db)["orders"]  # the last good table stays


def chain_dbt() -> str:
    return str(Path(sys.executable).parent / "dbt")
