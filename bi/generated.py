"""A dashboard for any dataset, generated from its dbt staging models and its lake: what the profile
page shows, in Superset. No YAML is written by hand: a dataset that `make demo` or
`lakehouse-ingest scaffold` brought in gets one the next time `make bi` starts.

Per staging table (the contract's table as readers see it: current rows, snake_case names):
- its row count;
- rows over time, by month, for each date or timestamp column;
- the most frequent values of each text column that repeats (fewer distinct values than half its
  rows: not a key, not free text).

Columns the scaffold marked personal (`contains_pii`) are left out: the values of a name or a phone
number never become a chart, and each Superset dataset is a query of the other columns only. The
numbers come from one query per table on the Thrift server (`approx_count_distinct`), so the choice
follows the data in the lake, not the contract alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bi.bundle import Chart, Column, Dashboard, Dataset, Filter, Metric

MAX_TIME_CHARTS = 2  # per table, in the contract's column order
MAX_TOP_CHARTS = 4
TOP_VALUES = 10
REPEATING = 0.5  # a text column gets a top-values chart when distinct values < this share of rows
TIME_TYPES = ("date", "timestamp")
GRID_WIDTH = 12
ROWS = Metric("rows", "COUNT(*)", "Rows", ",d")


@dataclass(frozen=True)
class TableStats:
    rows: int
    distinct: Mapping[str, int]  # approximate distinct values of each text column


def staging_models(manifest: dict[str, Any], dataset: str) -> list[dict[str, Any]]:
    """The dataset's staging models (`stg_<dataset>__<table>`), in name order."""
    prefix = f"stg_{dataset}__"
    return sorted(
        (
            node
            for node in manifest.get("nodes", {}).values()
            if node.get("resource_type") == "model" and node["name"].startswith(prefix) and dataset in node["tags"]
        ),
        key=lambda node: str(node["name"]),
    )


def datasets_with_staging(manifest: dict[str, Any]) -> list[str]:
    """Every dataset that has staging models: a tag `<dataset>` of a `stg_<dataset>__*` model."""
    found = set()
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model":
            name = str(node["name"])
            found |= {tag for tag in node.get("tags", []) if name.startswith(f"stg_{tag}__")}
    return sorted(found)


def is_personal(column: dict[str, Any]) -> bool:
    meta = {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}
    return bool(meta.get("contains_pii"))


def column_kind(column: dict[str, Any]) -> str:
    data_type = str(column.get("data_type") or "").lower()
    if data_type.startswith(TIME_TYPES):
        return "time"
    if data_type.startswith(("string", "varchar", "char")):
        return "text"
    return "other"


def table_name(model: dict[str, Any], dataset: str) -> str:
    return str(model["name"]).removeprefix(f"stg_{dataset}__")


def superset_dataset(model: dict[str, Any]) -> Dataset:
    columns = tuple(
        Column(c["name"], str(c.get("data_type") or "string").upper(), temporal=column_kind(c) == "time")
        for c in model["columns"].values()
        if not is_personal(c)
    )
    # A virtual dataset of the columns above: Superset's "sync columns" would add every column of
    # the view, the personal ones too, to a physical one.
    selected = ", ".join(quoted(c.name) for c in columns)
    return Dataset(
        str(model["schema"]),
        str(model["name"]),
        columns,
        metrics=(ROWS,),
        description=f"dbt model {model['name']}: {model.get('description') or 'a staging table'}",
        sql=f"select {selected} from {quoted(model['schema'])}.{quoted(model['name'])}",
    )


def table_charts(dataset: str, model: dict[str, Any], stats: TableStats) -> list[Chart]:
    table = table_name(model, dataset)
    source = superset_dataset(model)
    charts = [
        Chart(f"{table}: rows", "big_number_total", source, {"metric": "rows"}, width=3, height=25, scope=dataset)
    ]
    columns = [c for c in model["columns"].values() if not is_personal(c)]
    times = [c["name"] for c in columns if column_kind(c) == "time"][:MAX_TIME_CHARTS]
    for name in times:
        params = {"x_axis": name, "time_grain_sqla": "P1M", "metrics": ["rows"], "x_axis_time_format": "smart_date"}
        title = f"{table}: rows by month of {name}"
        charts.append(Chart(title, "echarts_timeseries_line", source, params, scope=dataset))
    repeating = [
        c["name"]
        for c in columns
        if column_kind(c) == "text" and 0 < stats.distinct.get(c["name"], 0) < REPEATING * stats.rows
    ][:MAX_TOP_CHARTS]
    for name in repeating:
        params = {
            "query_mode": "aggregate",
            "groupby": [name],
            "metrics": ["rows"],
            "timeseries_limit_metric": "rows",
            "order_desc": True,
            "row_limit": TOP_VALUES,
        }
        charts.append(Chart(f"{table}: top {name} values", "table", source, params, scope=dataset))
    return charts


def grid_rows(charts: list[Chart], width: int = GRID_WIDTH) -> list[tuple[Chart, ...]]:
    """Charts in rows of at most the grid's width, in order (Superset's rows hold 12 columns)."""
    rows: list[tuple[Chart, ...]] = []
    row: list[Chart] = []
    for chart in charts:
        if row and sum(c.width for c in row) + chart.width > width:
            rows.append(tuple(row))
            row = []
        row.append(chart)
    return [*rows, tuple(row)] if row else rows


def dataset_dashboard(
    dataset: str, manifest: dict[str, Any], stats_of: Callable[[dict[str, Any]], TableStats | None]
) -> Dashboard | None:
    """The dataset's dashboard: a row of charts per staging table that has rows in the lake
    (`stats_of` reads them; None when the table is not there); None when no table has any."""
    rows: list[tuple[Chart, ...]] = []
    for model in staging_models(manifest, dataset):
        stats = stats_of(model)
        if stats is not None and stats.rows > 0:
            rows += grid_rows(table_charts(dataset, model, stats))
    if not rows:
        return None
    first_time = next((c for row in rows for c in row if c.viz_type == "echarts_timeseries_line"), None)
    filters = (Filter("Time range", "filter_time"),) if first_time is not None else ()
    return Dashboard(
        title=f"{dataset}: tables profile",
        slug=f"{dataset}-profile",
        rows=tuple(rows),
        filters=filters,
        description=(
            f"Generated by `make bi` from the {dataset} staging models and the lake: rows per table, rows "
            "over time, the most frequent values; personal columns left out."
        ),
    )


def quoted(name: str) -> str:
    """A Spark identifier, backquoted (a backquote inside doubled)."""
    return "`" + name.replace("`", "``") + "`"


def text_columns(model: dict[str, Any]) -> list[str]:
    return [c["name"] for c in model["columns"].values() if column_kind(c) == "text" and not is_personal(c)]


def stats_query(model: dict[str, Any]) -> str:
    """One query for a staging table's rows and its text columns' distinct values (approximate)."""
    measures = ["count(*)"] + [f"approx_count_distinct({quoted(name)})" for name in text_columns(model)]
    return f"select {', '.join(measures)} from {quoted(model['schema'])}.{quoted(model['name'])}"


def stats_from_row(model: dict[str, Any], row: tuple[Any, ...]) -> TableStats:
    return TableStats(int(row[0]), dict(zip(text_columns(model), (int(v) for v in row[1:]), strict=True)))
