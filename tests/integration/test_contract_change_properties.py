"""Generated histories of contract changes and data: add, widen, narrow, drop, rename, re-key and
bad rows, each step loaded (upsert or replace, lossy changes allowed or not) and extracted (full,
incremental or cdc). After every step:
- no stored value changed except by the step's files or a lossy change the step allowed;
- a refused step left MySQL and the lake as they were;
- MySQL, `read_current` and the DuckDB recipe agree on the rows and on the columns.
Against the private MariaDB with its binary log on (`binlog_server`), so cdc runs too."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import pymysql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.core.contract import Contract
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import MySQLSettings
from ingest.extract import ExtractOptions, extract_dataset
from ingest.extract import batches as lakebatches
from ingest.load import LoadError, LoadOptions, load_dataset
from ingest.load.schema_change import LossyChange

WIDER = {"DECIMAL(8,2)": "DECIMAL(12,4)", "VARCHAR(6)": "VARCHAR(11)", "INT": "BIGINT"}
NARROWER = {wide: narrow for narrow, wide in WIDER.items()}
KEY = ["id"]


@dataclass
class Step:
    change: str  # data, add, widen, narrow, drop, rename, rekey
    pick: int  # which column the change is about
    allow: bool  # --allow-lossy TABLE
    ids: list[int]
    values: list[int]  # seeds for the rows' values
    bad: bool  # one row's text too long for its column: quarantined
    extract: str  # full, incremental, cdc


steps = st.builds(
    Step,
    change=st.sampled_from(["data", "add", "widen", "narrow", "drop", "rename", "rekey"]),
    pick=st.integers(0, 5),
    allow=st.booleans(),
    ids=st.lists(st.integers(1, 8), min_size=1, max_size=6, unique=True),
    values=st.lists(st.integers(-(10**9), 10**9), min_size=6, max_size=6),
    bad=st.booleans(),
    extract=st.sampled_from(["full", "incremental", "cdc"]),
)


@dataclass
class History:
    mode: str
    columns: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"name": "id", "type": "INT", "nullable": False},
            {"name": "k2", "type": "INT", "nullable": False},
            {"name": "stamp", "type": "INT", "nullable": False},
            {"name": "amount", "type": "DECIMAL(8,2)"},
            {"name": "label", "type": "VARCHAR(6)"},
        ]
    )
    primary_key: list[str] = field(default_factory=lambda: list(KEY))
    added: int = 0

    def contract(self) -> Contract:
        table = {
            "name": "items",
            "files": "items.csv",
            "mode": self.mode,
            "primary_key": self.primary_key,
            "cursor": "stamp",
            "dialect": {"null_tokens": [""]},
            "columns": self.columns,
        }
        return Contract.model_validate({"dataset": "props", "tables": [table]})

    def free(self) -> list[dict[str, Any]]:
        """The columns a change may touch (not the keys nor the cursor)."""
        return [c for c in self.columns if c["name"] not in ("id", "k2", "stamp")]


def mutate(history: History, step: Step) -> tuple[History, set[str]]:
    """The step's contract, and the columns whose stored values it may alter (lossy)."""
    new = copy.deepcopy(history)
    free = new.free()
    column = free[step.pick % len(free)] if free else None
    if step.change == "add" or (column is None and step.change != "rekey"):
        new.added += 1
        kind = ["DECIMAL(8,2)", "VARCHAR(6)", "INT"][step.pick % 3]
        new.columns.append({"name": f"extra{new.added}", "type": kind})
    elif step.change == "widen" and column is not None and column["type"] in WIDER:
        column["type"] = WIDER[column["type"]]
    elif step.change == "narrow" and column is not None and column["type"] in NARROWER:
        column["type"] = NARROWER[column["type"]]
        return new, {column["name"]}
    elif step.change == "drop" and column is not None:
        new.columns.remove(column)
        return new, {column["name"]}
    elif step.change == "rename" and column is not None:
        old = column["name"]
        column["name"], column["renamed_from"] = f"{old}_r"[:40], old
    elif step.change == "rekey":
        new.primary_key = ["id", "k2"] if new.primary_key == KEY else list(KEY)
    return new, set()


def value(column: dict[str, Any], seed: int) -> Any:
    kind = column["type"]
    if seed % 5 == 0:
        return None
    if kind.startswith("DECIMAL"):
        scale = 4 if kind == "DECIMAL(12,4)" else 2
        return Decimal(seed % 10**6 * 10**scale + seed % 97) / 10**scale if seed else Decimal(0)
    if kind.startswith("VARCHAR"):
        return "abcdefghijk"[: 1 + abs(seed) % int(kind[8:-1])]
    return seed if kind == "BIGINT" else seed % 2**31


def render(value_: Any) -> str:
    return "" if value_ is None else str(value_)


def rows(settings: MySQLSettings, database: str) -> list[dict[str, Any]]:
    conn = connect(settings, cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = %s AND table_name = 'items'",
                (database,),
            )
            found: Any = cursor.fetchone()
            if not found["n"]:
                return []
            cursor.execute(f"SELECT * FROM {quote_identifier(database)}.items ORDER BY id")
            result: list[dict[str, Any]] = list(cursor.fetchall())  # type: ignore[arg-type]
            return result
    finally:
        conn.close()


def lake_state(lake: str) -> list[str]:
    return [b.id for b in lakebatches.committed_batches(lake, "props", "items")]


def readers_agree(lake: str, stored: list[dict[str, Any]]) -> None:
    python = sorted(lakebatches.read_current(lake, "props", "items").to_pylist(), key=lambda r: r["id"])
    result = duckdb.connect().execute(lakebatches.duckdb_sql(lake, "props", "items") + " order by id")
    names = [d[0] for d in result.description]
    in_duckdb = [dict(zip(names, r, strict=True)) for r in result.fetchall()]
    assert python == stored
    assert in_duckdb == stored
    assert names == list(stored[0]) if stored else True


def expected_rows(
    before: list[dict[str, Any]], files: dict[int, dict[str, Any]], new: History, old: History, rejected: set[int]
) -> list[dict[str, Any]]:
    """What MySQL must hold after a published step (lossy columns are compared separately)."""
    old_names = {c["name"] for c in old.columns}

    def carried(row: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for c in new.columns:
            source = c["name"] if c["name"] in old_names else c.get("renamed_from")
            out[c["name"]] = row.get(source) if source is not None and source in old_names else None
        return out

    result = {r["id"]: carried(r) for r in before} if new.mode == "upsert" else {}
    if new.mode == "replace" and rejected:  # a rejected row's key keeps its stored version
        result = {r["id"]: carried(r) for r in before if r["id"] not in files}
    result.update(files)
    return [result[k] for k in sorted(result)]


@pytest.mark.parametrize("mode", ["upsert", "replace"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(steps, min_size=2, max_size=5))
def test_contract_changes_never_damage_stored_data_silently(
    binlog_server: MySQLSettings, tmp_path_factory: pytest.TempPathFactory, mode: str, history: list[Step]
) -> None:
    settings_ = binlog_server
    database = f"props_{uuid.uuid4().hex[:10]}"
    folder = tmp_path_factory.mktemp("props")
    lake = str(folder / "lake")
    source = folder / "files"
    source.mkdir()
    current = History(mode)
    try:
        for number, step in enumerate(history, start=1):
            proposed, lossy = mutate(current, step) if number > 1 else (current, set())
            header = [c["name"] for c in proposed.columns]
            files: dict[int, dict[str, Any]] = {}
            lines, rejected = [",".join(header)], set()
            for position, key in enumerate(step.ids):
                row: dict[str, Any] = {"id": key, "k2": key * 10, "stamp": number}
                for c, seed in zip(proposed.free(), step.values * 2, strict=False):
                    row[c["name"]] = value(c, seed + position)
                if step.bad and position == 0 and any(c["type"].startswith("VARCHAR") for c in proposed.free()):
                    text = next(c for c in proposed.free() if c["type"].startswith("VARCHAR"))
                    row[text["name"]] = "x" * 12  # longer than any VARCHAR here: quarantined
                    rejected.add(key)
                else:
                    files[key] = row
                lines.append(",".join(render(row[name]) for name in header))
            (source / "items.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
            before, batches_before = rows(settings_, database), lake_state(lake) if number > 1 else []
            allow = ["items"] if step.allow else []
            try:
                load_dataset(
                    proposed.contract(),
                    source,
                    settings_,
                    LoadOptions(database=database, max_bad_rows=len(rejected), allow_lossy=allow),
                )
            except (LossyChange, LoadError):  # a lossy change refused, or stored rows that do not fit it
                assert lossy or proposed.primary_key != current.primary_key or before
                assert rows(settings_, database) == before  # nothing changed
                assert lake_state(lake) == batches_before
                proposed = current
            else:
                stored = rows(settings_, database)
                expected = expected_rows(before, files, proposed, current, rejected)
                assert [k["id"] for k in stored] == [k["id"] for k in expected]
                for got, want in zip(stored, expected, strict=True):
                    keep = [n for n in want if n not in lossy]  # a lossy column may have changed: it was allowed
                    assert {n: got[n] for n in keep} == {n: want[n] for n in keep}, (step, got, want)
                    assert list(got) == list(want)  # the contract's columns, in its order
                current = proposed
            extract_dataset(
                current.contract(),
                settings_,
                lake,
                ExtractOptions(database=database, mode=step.extract if number > 1 else "full"),  # type: ignore[arg-type]
            )
            readers_agree(lake, rows(settings_, database))
    finally:
        conn = connect(settings_)
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(database)}")
        conn.close()
