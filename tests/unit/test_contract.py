"""Contracts: the shipped TPC-H contract, type parsing, and what the schema refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ingest.core.contract import Contract, ContractError, SqlType, contract_path, load_contract
from tests.conftest import TPCH_ROWS


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "contract.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def minimal(**table: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "t",
        "files": "t.csv",
        "columns": [{"name": "id", "type": "INT", "nullable": False}],
    }
    base.update(table)
    return {"dataset": "ds", "tables": [base]}


def test_tpch_contract_has_the_specification_tables_keys_and_types(tpch_contract: Contract) -> None:
    assert {t.name for t in tpch_contract.tables} == set(TPCH_ROWS)
    assert tpch_contract.table("lineitem").primary_key == ["l_orderkey", "l_linenumber"]
    assert tpch_contract.table("partsupp").primary_key == ["ps_partkey", "ps_suppkey"]
    lineitem = tpch_contract.table("lineitem")
    assert str(lineitem.column("l_extendedprice").type) == "DECIMAL(15,2)"
    assert str(lineitem.column("l_shipdate").type) == "DATE"
    assert str(lineitem.column("l_comment").type) == "VARCHAR(44)"
    assert str(tpch_contract.table("customer").column("c_phone").type) == "CHAR(15)"
    assert all(not c.nullable for t in tpch_contract.tables for c in t.columns)


@pytest.mark.parametrize(
    ("text", "sql"),
    [
        ("decimal(15, 2)", "DECIMAL(15,2)"),
        ("NUMERIC(5)", "DECIMAL(5,0)"),
        ("varchar(25)", "VARCHAR(25)"),
        ("integer", "INT"),
        ("BOOL", "TINYINT(1)"),
        ("datetime(3)", "DATETIME(3)"),
        ("TIMESTAMP", "DATETIME"),
    ],
)
def test_types_parse_to_mysql(text: str, sql: str) -> None:
    assert SqlType.parse(text).sql() == sql


@pytest.mark.parametrize("text", ["DECIMAL(70,2)", "DECIMAL(5,6)", "VARCHAR", "INT(5,2)", "BLOB", "INT; DROP TABLE x"])
def test_bad_types_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        SqlType.parse(text)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (minimal(name="t; DROP TABLE users"), "not a safe identifier"),
        (minimal(columns=[{"name": "id`) x", "type": "INT"}]), "not a safe identifier"),
        ({"dataset": "ds`", "tables": minimal()["tables"]}, "not a safe identifier"),
        (minimal(files="../../etc/passwd"), "inside the source folder"),
        (minimal(primary_key=["nope"]), "is not a column"),
        (minimal(columns=[{"name": "id", "type": "INT"}], primary_key=["id"]), "nullable: false"),
        (minimal(mode="upsert"), "needs a primary key"),
        (minimal(dialect={"delimiter": ";;"}), "one character"),
        (minimal(colums=[]), "Extra inputs are not permitted"),
        (minimal(columns=[{"name": "a", "type": "INT"}, {"name": "A", "type": "INT"}]), "twice"),
    ],
)
def test_contract_errors_name_the_problem(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(ContractError, match=r"contract file .* is invalid") as error:
        load_contract(write(tmp_path, data))
    assert message in str(error.value)


def test_yaml_round_trip_keeps_the_contract(tpch_contract: Contract, tmp_path: Path) -> None:
    path = tmp_path / "again.yml"
    path.write_text(tpch_contract.to_yaml(), encoding="utf-8")
    assert load_contract(path) == tpch_contract


def test_missing_contracts_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="does not exist"):
        load_contract(tmp_path / "nope.yml")
    with pytest.raises(ContractError, match="python -m ingest infer"):
        contract_path("no_such_dataset")
    with pytest.raises(ValueError, match="safe identifier"):
        contract_path("../tpch")


@given(
    name=st.one_of(
        st.sampled_from(["batch", "BATCH", "Batch"]),
        st.from_regex(r"\A_(lh_|LH_|lakehouse)[a-z0-9_]{0,10}\Z"),
    )
)
def test_the_lake_s_own_column_names_are_refused_in_a_contract(name: str) -> None:
    table = {"name": "t", "files": "t.csv", "columns": [{"name": name, "type": "INT"}]}
    with pytest.raises(ValidationError, match="is reserved: the lake adds `batch` and `_lh_\\*` columns"):
        Contract.model_validate({"dataset": "d", "tables": [table]})


def test_names_near_the_reserved_ones_are_ordinary() -> None:
    columns = [{"name": n, "type": "INT"} for n in ("batch_id", "batches", "lh_deleted", "_l_h")]
    Contract.model_validate({"dataset": "d", "tables": [{"name": "t", "files": "t.csv", "columns": columns}]})
