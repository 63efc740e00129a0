"""Superset's import/export format (version 1.0.0), written from a dashboard's spec.

A bundle is a folder of YAML files, the same tree `superset export-dashboards` writes:

    metadata.yaml
    databases/<database>.yaml
    datasets/<database>/<table>.yaml
    charts/<chart>.yaml
    dashboards/<dashboard>.yaml

Every object's UUID is derived from its name, so importing the same bundle again overwrites the
objects it made instead of adding copies, and a dashboard edited in the repository replaces the one
in Superset. `write_bundle` writes the tree; `zip_bundle` packs one for `superset import-dashboards`,
with the Thrift server's SQLAlchemy URI filled in.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

VERSION = "1.0.0"
NAMESPACE = uuid.UUID("6f1c1f0e-5b7a-4a53-9a8e-2f1d0b0c1a11")  # the lakehouse's objects in Superset
URI_PLACEHOLDER = "__LAKEHOUSE_THRIFT_URI__"  # the Thrift server's URI, filled in at import
DATABASE_NAME = "Lakehouse (Spark Thrift server)"


def object_uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


def file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Spark's type name; `make bi` syncs the real types from the Thrift server after import
    temporal: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Metric:
    name: str
    expression: str
    label: str
    d3format: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Dataset:
    schema: str  # the dbt model's schema, e.g. lakehouse_marts
    table: str  # the dbt model's name
    columns: tuple[Column, ...]
    metrics: tuple[Metric, ...] = ()
    description: str | None = None
    sql: str | None = None  # a virtual dataset's query: exactly these columns, whatever the table has

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def uuid(self) -> str:
        return object_uuid("dataset", self.key)

    @property
    def main_temporal(self) -> str | None:
        return next((c.name for c in self.columns if c.temporal), None)


@dataclass(frozen=True)
class Chart:
    name: str
    viz_type: str
    dataset: Dataset
    params: dict[str, Any]
    width: int = 4  # of the dashboard's 12 columns
    height: int = 50
    description: str | None = None
    scope: str = ""  # where the name is unique, when not across all dashboards (a generated one's dataset)

    @property
    def uuid(self) -> str:
        return object_uuid("chart", f"{self.scope}/{self.name}" if self.scope else self.name)


@dataclass(frozen=True)
class Filter:
    """A native filter: a value list over a column, or the time range of every chart in scope."""

    name: str
    filter_type: str  # filter_select, filter_time, filter_range
    dataset: Dataset | None = None
    column: str | None = None
    multi_select: bool = True

    @property
    def id(self) -> str:
        return f"NATIVE_FILTER-{file_name(self.name)}"


@dataclass(frozen=True)
class Dashboard:
    title: str
    slug: str
    rows: tuple[tuple[Chart, ...], ...]  # the layout: rows of charts, left to right
    filters: tuple[Filter, ...] = ()
    unfiltered: tuple[Chart, ...] = ()  # charts the native filters and cross-filters leave alone
    description: str | None = None
    css: str = ""

    @property
    def uuid(self) -> str:
        return object_uuid("dashboard", self.slug)

    @property
    def charts(self) -> list[Chart]:
        return [chart for row in self.rows for chart in row]

    @property
    def datasets(self) -> list[Dataset]:
        unique: dict[str, Dataset] = {}
        for chart in self.charts:
            unique.setdefault(chart.dataset.key, chart.dataset)
        return list(unique.values())


@dataclass
class Bundle:
    """The files of one dashboard's export, by path."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, path: str, content: dict[str, Any]) -> None:
        self.files[path] = content


def database_yaml(uri: str = URI_PLACEHOLDER) -> dict[str, Any]:
    return {
        "database_name": DATABASE_NAME,
        "sqlalchemy_uri": uri,
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,  # the lakehouse is read here; dbt writes it
        "allow_file_upload": False,
        "extra": {"allows_virtual_table_explore": True, "metadata_cache_timeout": {}},
        "uuid": object_uuid("database", DATABASE_NAME),
        "version": VERSION,
    }


def dataset_yaml(dataset: Dataset) -> dict[str, Any]:
    columns = [
        {
            "column_name": column.name,
            "verbose_name": None,
            "is_dttm": column.temporal,
            "is_active": True,
            "type": column.type,
            "advanced_data_type": None,
            "groupby": True,
            "filterable": True,
            "expression": None,
            "description": column.description,
            "python_date_format": None,
            "extra": None,
        }
        for column in dataset.columns
    ]
    metrics = [
        {
            "metric_name": metric.name,
            "verbose_name": metric.label,
            "metric_type": None,
            "expression": metric.expression,
            "description": metric.description,
            "d3format": metric.d3format,
            "currency": None,
            "extra": None,
            "warning_text": None,
        }
        for metric in dataset.metrics
    ]
    return {
        "table_name": dataset.table,
        "main_dttm_col": dataset.main_temporal,
        "description": dataset.description,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "catalog": None,
        "schema": dataset.schema,
        "sql": dataset.sql,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": dataset.uuid,
        "metrics": metrics,
        "columns": columns,
        "version": VERSION,
        "database_uuid": object_uuid("database", DATABASE_NAME),
    }


def chart_yaml(chart: Chart, chart_id: int) -> dict[str, Any]:
    params = {
        "viz_type": chart.viz_type,
        "datasource": f"{chart_id}__table",  # rewritten by the import to the dataset's own id
        "adhoc_filters": [],
        "extra_form_data": {},
        "dashboards": [],
        **chart.params,
    }
    return {
        "slice_name": chart.name,
        "description": chart.description,
        "certified_by": None,
        "certification_details": None,
        "viz_type": chart.viz_type,
        "params": params,
        "query_context": None,
        "cache_timeout": None,
        "uuid": chart.uuid,
        "version": VERSION,
        "dataset_uuid": chart.dataset.uuid,
    }


def _position(dashboard: Dashboard, chart_ids: dict[str, int]) -> dict[str, Any]:
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"id": "ROOT_ID", "type": "ROOT", "children": ["GRID_ID"]},
        "GRID_ID": {"id": "GRID_ID", "type": "GRID", "parents": ["ROOT_ID"], "children": []},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": dashboard.title}},
    }
    for row_number, row in enumerate(dashboard.rows, start=1):
        row_id = f"ROW-{row_number}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "id": row_id,
            "type": "ROW",
            "parents": ["ROOT_ID", "GRID_ID"],
            "children": [],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for chart in row:
            chart_key = f"CHART-{file_name(chart.name)}"
            position[row_id]["children"].append(chart_key)
            position[chart_key] = {
                "id": chart_key,
                "type": "CHART",
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "children": [],
                "meta": {
                    "chartId": chart_ids[chart.uuid],
                    "uuid": chart.uuid,
                    "sliceName": chart.name,
                    "width": chart.width,
                    "height": chart.height,
                },
            }
    return position


def _native_filter(flt: Filter, excluded: list[int], in_scope: list[int]) -> dict[str, Any]:
    targets: list[dict[str, Any]] = [{}]
    if flt.dataset is not None and flt.column is not None:
        targets = [{"column": {"name": flt.column}, "datasetUuid": flt.dataset.uuid}]
    controls: dict[str, Any] = {"enableEmptyFilter": False}
    if flt.filter_type == "filter_select":
        controls |= {
            "multiSelect": flt.multi_select,
            "defaultToFirstItem": False,
            "inverseSelection": False,
            "searchAllOptions": False,
        }
    return {
        "id": flt.id,
        "name": flt.name,
        "type": "NATIVE_FILTER",
        "filterType": flt.filter_type,
        "targets": targets,
        "controlValues": controls,
        "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
        "cascadeParentIds": [],
        "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
        "chartsInScope": in_scope,
        "tabsInScope": [],
        "description": "",
    }


def dashboard_yaml(dashboard: Dashboard, chart_ids: dict[str, int]) -> dict[str, Any]:
    excluded = [chart_ids[chart.uuid] for chart in dashboard.unfiltered]
    in_scope = [chart_ids[chart.uuid] for chart in dashboard.charts if chart_ids[chart.uuid] not in excluded]
    chart_configuration = {
        str(chart_ids[chart.uuid]): {
            "id": chart_ids[chart.uuid],
            "crossFilters": {
                "scope": {"rootPath": ["ROOT_ID"], "excluded": [chart_ids[chart.uuid], *excluded]},
                "chartsInScope": [i for i in in_scope if i != chart_ids[chart.uuid]],
            },
        }
        for chart in dashboard.charts
        if chart not in dashboard.unfiltered
    }
    metadata = {
        "color_scheme": "supersetColors",
        "cross_filters_enabled": True,
        "native_filter_configuration": [_native_filter(f, excluded, in_scope) for f in dashboard.filters],
        "chart_configuration": chart_configuration,
        "global_chart_configuration": {
            "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
            "chartsInScope": in_scope,
        },
        "expanded_slices": {},
        "refresh_frequency": 0,
        "timed_refresh_immune_slices": [],
        "default_filters": "{}",
    }
    return {
        "dashboard_title": dashboard.title,
        "description": dashboard.description,
        "css": dashboard.css,
        "slug": dashboard.slug,
        "certified_by": "",
        "certification_details": "",
        "published": True,
        "uuid": dashboard.uuid,
        "position": _position(dashboard, chart_ids),
        "metadata": metadata,
        "version": VERSION,
    }


def bundle(dashboard: Dashboard) -> Bundle:
    """The export files of one dashboard, its charts, their datasets and the database."""
    # Ids local to the bundle: the import gives every object its own and rewrites the references.
    chart_ids = {chart.uuid: number for number, chart in enumerate(dashboard.charts, start=1)}
    out = Bundle()
    out.add("metadata.yaml", {"version": VERSION, "type": "Dashboard", "timestamp": "2026-01-01T00:00:00+00:00"})
    out.add(f"databases/{file_name(DATABASE_NAME)}.yaml", database_yaml())
    for dataset in dashboard.datasets:
        out.add(f"datasets/{file_name(DATABASE_NAME)}/{dataset.table}.yaml", dataset_yaml(dataset))
    for chart in dashboard.charts:
        out.add(f"charts/{file_name(chart.name)}.yaml", chart_yaml(chart, chart_ids[chart.uuid]))
    out.add(f"dashboards/{file_name(dashboard.title)}.yaml", dashboard_yaml(dashboard, chart_ids))
    return out


def dump(content: dict[str, Any]) -> str:
    return yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=100)


def write_bundle(files: Bundle, folder: Path) -> None:
    """The bundle as a folder of YAML files (the repository's dashboards as code); files of objects
    the spec no longer has are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.rglob("*.yaml"):
        if old.relative_to(folder).as_posix() not in files.files:
            old.unlink()
    for path, content in files.files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dump(content), encoding="utf-8")


def zip_bundle(folder: Path, thrift_uri: str) -> bytes:
    """A bundle folder as the ZIP `superset import-dashboards` reads, with the database's URI set."""
    buffer = io.BytesIO()
    root = folder.name
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            if path.parent.name == "databases":
                content = yaml.safe_load(text)
                content["sqlalchemy_uri"] = thrift_uri
                text = dump(content)
            archive.writestr(f"{root}/{path.relative_to(folder).as_posix()}", text)
    return buffer.getvalue()
