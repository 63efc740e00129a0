"""The dashboard generated for any dataset (bi/generated.py), over generated staging models: no
personal column reaches Superset, every chart reads what its dataset has, the layout fits the grid,
and the objects keep stable, distinct UUIDs."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bi.bundle import bundle
from bi.generated import (
    GRID_WIDTH,
    MAX_TIME_CHARTS,
    MAX_TOP_CHARTS,
    REPEATING,
    TableStats,
    dataset_dashboard,
    datasets_with_staging,
    quoted,
    stats_from_row,
    stats_query,
)
from ingest.core.settings import REPO_ROOT

TYPES = ["int", "bigint", "string", "date", "timestamp", "decimal(15,2)", "double", "boolean", "varchar(20)"]
names = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
column = st.fixed_dictionaries(
    {"data_type": st.sampled_from(TYPES), "pii": st.booleans(), "distinct_share": st.floats(0, 1)}
)


@st.composite
def manifests(draw: Any) -> tuple[str, dict[str, Any], dict[str, TableStats]]:
    dataset = draw(names)
    tables = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    nodes, stats = {}, {}
    for table in tables:
        model = f"stg_{dataset}__{table}"
        columns = draw(st.dictionaries(names, column, min_size=1, max_size=10))
        rows = draw(st.integers(0, 10_000))
        nodes[f"model.lakehouse.{model}"] = {
            "resource_type": "model",
            "name": model,
            "schema": "lakehouse_staging",
            "tags": [dataset],
            "description": f"{table} rows",
            "columns": {
                name: {"name": name, "data_type": c["data_type"], "meta": {"contains_pii": True} if c["pii"] else {}}
                for name, c in columns.items()
            },
        }
        distinct = {name: int(c["distinct_share"] * rows) for name, c in columns.items()}
        stats[model] = TableStats(rows, distinct)
    return dataset, {"nodes": nodes}, stats


@given(manifests())
def test_a_generated_dashboard_fits_its_datasets_and_leaves_personal_columns_out(
    case: tuple[str, dict[str, Any], dict[str, TableStats]],
) -> None:
    dataset, manifest, stats = case
    assert datasets_with_staging(manifest) == [dataset]
    dashboard = dataset_dashboard(dataset, manifest, lambda model: stats[model["name"]])
    with_rows = [m for m in manifest["nodes"].values() if stats[m["name"]].rows > 0]
    if not with_rows:
        assert dashboard is None
        return
    assert dashboard is not None
    personal = {(m["name"], c["name"]) for m in manifest["nodes"].values() for c in m["columns"].values() if c["meta"]}
    for chart in dashboard.charts:
        columns = {c.name for c in chart.dataset.columns}
        assert not {(chart.dataset.table, c) for c in columns} & personal
        used = {chart.params.get("x_axis"), *chart.params.get("groupby", [])} - {None}
        assert used <= columns, (chart.name, used - columns)
        assert set(chart.params.get("metrics", [chart.params.get("metric")])) <= {m.name for m in chart.dataset.metrics}
    assert all(sum(c.width for c in row) <= GRID_WIDTH for row in dashboard.rows)
    for model in with_rows:
        table = model["name"].removeprefix(f"stg_{dataset}__")  # a dataset may end with "_"
        own = [c for c in dashboard.charts if c.dataset.table == model["name"]]
        assert own[0].name == f"{table}: rows"
        times = [c for c in own if c.viz_type == "echarts_timeseries_line"]
        tops = [c for c in own if c.viz_type == "table"]
        assert len(times) <= MAX_TIME_CHARTS and len(tops) <= MAX_TOP_CHARTS
        rows = stats[model["name"]].rows
        for top in tops:
            [name] = top.params["groupby"]
            assert 0 < stats[model["name"]].distinct[name] < REPEATING * rows
    files = bundle(dashboard).files
    uuids = [content["uuid"] for path, content in files.items() if path != "metadata.yaml"]
    assert len(uuids) == len(set(uuids))
    assert bundle(dashboard).files == files


@given(st.text(min_size=1, max_size=20))
def test_a_quoted_identifier_cannot_end_its_quotes(name: str) -> None:
    text = quoted(name)
    inner = text[1:-1]
    assert text[0] == text[-1] == "`" and inner.replace("``", "").count("`") == 0
    assert inner.replace("``", "`") == name


def test_the_stats_query_counts_rows_and_the_distinct_values_of_text_columns_only() -> None:
    manifest = json.loads((REPO_ROOT / "target" / "manifest.json").read_text(encoding="utf-8"))
    model = manifest["nodes"]["model.lakehouse.stg_tpch__customer"]
    query = stats_query(model)
    assert query.startswith("select count(*), approx_count_distinct(`market_segment`)")
    assert "customer_name" not in query and "customer_phone" not in query  # personal: never profiled
    assert query.endswith("from `lakehouse_staging`.`stg_tpch__customer`")
    stats = stats_from_row(model, (150, 5, 150))
    assert stats == TableStats(150, {"market_segment": 5, "customer_comment": 150})
