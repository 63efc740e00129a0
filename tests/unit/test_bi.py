"""The dashboards as code: the committed Superset export, its references, its exposure, the lake's
tables it reads."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bi.bundle import bundle, dump, zip_bundle
from bi.lake_tables import LakeTablesError, lake_tables, register
from bi.tpch import DASHBOARD
from ingest.core.settings import REPO_ROOT

EXPORT = REPO_ROOT / "bi" / "dashboards" / "tpch"


def test_the_committed_export_is_what_the_spec_writes() -> None:
    """bi/dashboards/tpch/ is `python -m bi export`'s output: edit bi/tpch.py, then export."""
    files = bundle(DASHBOARD).files
    on_disk = {p.relative_to(EXPORT).as_posix(): p.read_text(encoding="utf-8") for p in EXPORT.rglob("*.yaml")}
    assert sorted(on_disk) == sorted(files)
    for path, content in files.items():
        assert on_disk[path] == dump(content), f"{path} is stale: run `python -m bi export`"


def test_every_object_has_its_own_stable_uuid() -> None:
    """Re-importing overwrites by UUID: they must not change between exports, nor collide."""
    first, second = bundle(DASHBOARD).files, bundle(DASHBOARD).files
    uuids = [content["uuid"] for path, content in first.items() if path != "metadata.yaml"]
    assert len(uuids) == len(set(uuids))
    assert uuids == [content["uuid"] for path, content in second.items() if path != "metadata.yaml"]


def _names(params: dict[str, Any], *keys: str) -> set[str]:
    found: set[str] = set()
    for key in keys:
        value = params.get(key)
        found |= set(value) if isinstance(value, list) else ({value} if isinstance(value, str) else set())
    return found


def test_every_chart_reads_columns_and_metrics_its_dataset_has() -> None:
    """Superset refuses a query on a column or saved metric its dataset does not have."""
    for chart in DASHBOARD.charts:
        columns = {c.name for c in chart.dataset.columns}
        metrics = {m.name for m in chart.dataset.metrics}
        used_columns = _names(chart.params, "groupby", "all_columns", "x_axis")
        used_metrics = _names(chart.params, "metrics", "metric", "timeseries_limit_metric")
        assert used_columns <= columns, (chart.name, used_columns - columns)
        assert used_metrics <= metrics, (chart.name, used_metrics - metrics)
    for flt in DASHBOARD.filters:
        assert flt.dataset is None or flt.column in {c.name for c in flt.dataset.columns}


def test_the_layout_fits_the_grid_and_the_filters_leave_the_fixed_answers_alone() -> None:
    dashboard = next(c for p, c in bundle(DASHBOARD).files.items() if p.startswith("dashboards/"))
    rows = [v for k, v in dashboard["position"].items() if k.startswith("ROW-")]
    charts = {k: v for k, v in dashboard["position"].items() if k.startswith("CHART-")}
    assert all(sum(charts[c]["meta"]["width"] for c in row["children"]) <= 12 for row in rows)
    assert len(charts) == len(DASHBOARD.charts)
    ids = {v["meta"]["uuid"]: v["meta"]["chartId"] for v in charts.values()}
    fixed = {ids[c.uuid] for c in DASHBOARD.unfiltered}
    filters = dashboard["metadata"]["native_filter_configuration"]
    assert [f["name"] for f in filters] == ["Customer region", "Market segment", "Order date"]
    assert all(set(f["scope"]["excluded"]) == fixed and not fixed & set(f["chartsInScope"]) for f in filters)
    assert dashboard["metadata"]["cross_filters_enabled"] is True


def _exposure() -> dict[str, Any]:
    exposures = yaml.safe_load((REPO_ROOT / "dbt_project" / "models" / "exposures.yml").read_text())["exposures"]
    return next(e for e in exposures if e["name"] == "superset_tpch_business")


def test_the_dashboard_s_exposure_names_exactly_its_datasets() -> None:
    """dbt's exposure (what DataHub and the policy check see) and the dashboard cannot drift."""
    exposure = _exposure()
    refs = {re.fullmatch(r"ref\('(\w+)'\)", r).group(1) for r in exposure["depends_on"]}  # type: ignore[union-attr]
    assert refs == {d.table for d in DASHBOARD.datasets}
    columns = {f"{d.table}.{c.name}" for d in DASHBOARD.datasets for c in d.columns}
    assert set(exposure["config"]["meta"]["publishes"]) <= columns
    assert exposure["config"]["meta"]["access"] == "broad" and exposure["config"]["meta"]["explorable"] is True


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1))
def test_the_import_zip_carries_the_thrift_uri_and_the_files_as_committed(uri: str) -> None:
    archive = zipfile.ZipFile(io.BytesIO(zip_bundle(EXPORT, uri)))
    names = archive.namelist()
    assert sorted(n.split("/", 1)[1] for n in names) == sorted(
        p.relative_to(EXPORT).as_posix() for p in EXPORT.rglob("*.yaml")
    )
    for name in names:
        text = archive.read(name).decode()
        if "/databases/" in name:
            assert yaml.safe_load(text)["sqlalchemy_uri"] == uri
        else:
            assert text == (EXPORT / name.split("/", 1)[1]).read_text(encoding="utf-8")


def _manifest(tmp_path: Path, models: dict[str, tuple[str, str]]) -> Path:
    nodes = {
        f"model.lakehouse.{name}": {
            "resource_type": "model",
            "name": name,
            "alias": name,
            "schema": schema,
            "config": {"materialized": materialized},
        }
        for name, (schema, materialized) in models.items()
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"nodes": nodes}))
    return path


def test_only_built_table_models_become_thrift_tables(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    for folder in ("fct_orders", "fct_order_lines/order_month=1995-01-01", "stg_orders"):
        (lake / "lakehouse" / folder).mkdir(parents=True)
        (lake / "lakehouse" / folder / "part-0.parquet").write_bytes(b"PAR1")
    (lake / "lakehouse" / "empty_model").mkdir()
    manifest = _manifest(
        tmp_path,
        {
            "fct_orders": ("lakehouse_marts", "table"),
            "fct_order_lines": ("lakehouse_marts", "incremental"),
            "stg_orders": ("lakehouse_staging", "view"),
            "empty_model": ("lakehouse_marts", "table"),
            "not_built": ("lakehouse_reports", "table"),
        },
    )
    tables = lake_tables(manifest, str(lake))
    assert [(t.schema, t.name) for t in tables] == [
        ("lakehouse_marts", "fct_order_lines"),
        ("lakehouse_marts", "fct_orders"),
    ]
    assert tables[1].location == f"file://{lake}/lakehouse/fct_orders"


@given(st.text(min_size=1, max_size=30))
def test_a_model_name_that_is_not_an_identifier_is_refused(name: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        lake = root / "lake" / "lakehouse" / "m"
        lake.mkdir(parents=True)
        (lake / "part-0.parquet").write_bytes(b"PAR1")
        manifest = _manifest(root, {"m": (name, "table")})
        if re.fullmatch(r"[a-z_][a-z0-9_]{0,127}", name.lower()) and name.lower().isascii():
            assert lake_tables(manifest, str(root / "lake"))[0].schema == name.lower()
        else:
            with pytest.raises(LakeTablesError):
                lake_tables(manifest, str(root / "lake"))


class RecordingCursor:
    """A DB-API cursor that records statements; SHOW answers from `existing` {table: properties}."""

    def __init__(self, existing: dict[str, list[str]]) -> None:
        self.existing = existing
        self.statements: list[str] = []
        self.rows: list[tuple[str, ...]] = []

    def execute(self, sql: str) -> None:
        self.statements.append(sql)
        if sql.startswith("SHOW TABLES"):
            name = sql.rsplit("'", 2)[1]
            self.rows = [("s", name)] if name in self.existing else []
        elif sql.startswith("SHOW TBLPROPERTIES"):
            name = sql.rsplit("`", 2)[1]
            self.rows = [(key, "x") for key in self.existing[name]]

    def fetchall(self) -> list[tuple[str, ...]]:
        return self.rows


def test_tables_made_here_are_remade_and_dbt_s_own_only_refreshed(tmp_path: Path) -> None:
    from bi.lake_tables import MARKER, LakeTable

    tables = [LakeTable("s", name, f"file:///lake/lakehouse/{name}") for name in ("ours", "dbts", "new")]
    cursor = RecordingCursor({"ours": [MARKER], "dbts": ["dbt.something"]})
    register(cursor, tables)
    drops = [s for s in cursor.statements if s.startswith("DROP")]
    creates = [s for s in cursor.statements if s.startswith("CREATE TABLE")]
    assert drops == ["DROP TABLE `s`.`ours`"]
    assert [c.split("`")[3] for c in creates] == ["ours", "new"]
    assert sum(s.startswith("REFRESH TABLE") for s in cursor.statements) == 3
    with pytest.raises(LakeTablesError):
        register(RecordingCursor({}), [LakeTable("s", "t", "file:///it's")])
