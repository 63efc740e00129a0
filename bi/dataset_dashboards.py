"""`make bi`'s generated dashboards (bi/generated.py), one per dataset in the lake.

Each dataset's staging models are views over the lake's raw batches. dbt makes them on the Thrift
server `make bi` serves (`dbt run --target thrift`, views only: no data is written), for the tables
that have a committed batch. One query per table reads its numbers, and each dashboard is written as
a bundle under .local/bi/dashboards/, which `make bi` imports beside the committed ones.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bi.bundle import bundle, write_bundle
from bi.generated import (
    TableStats,
    dataset_dashboard,
    datasets_with_staging,
    staging_models,
    stats_from_row,
    stats_query,
    table_name,
)
from ingest.core.errors import DataError
from ingest.core.settings import REPO_ROOT
from ingest.extract.batches import current_batches

DBT = REPO_ROOT / ".venv" / "bin" / "dbt"


def models_in_lake(manifest: dict[str, Any], lake_uri: str) -> dict[str, list[dict[str, Any]]]:
    """Per dataset, its staging models whose table has a committed batch in the lake."""
    found: dict[str, list[dict[str, Any]]] = {}
    for dataset in datasets_with_staging(manifest):
        models = staging_models(manifest, dataset)
        models = [m for m in models if current_batches(lake_uri, dataset, table_name(m, dataset))]
        if models:
            found[dataset] = models
    return found


def stage_views(model_names: list[str], work: Path) -> tuple[set[str], str]:
    """The staging views made on the Thrift server (SPARK_THRIFT_HOST:PORT) by dbt; the names it made,
    and dbt's output when some failed (their tables are left out of the dashboards)."""
    target = work / "dbt-target"
    command = [str(DBT), "run", "--target", "thrift", "--select", *model_names]
    command += ["--target-path", str(target), "--log-path", str(work / "dbt-logs")]
    result = subprocess.run(command, cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=1800)
    results_file = target / "run_results.json"
    if not results_file.exists():
        raise DataError(f"dbt could not make the staging views:\n{(result.stdout + result.stderr)[-3000:]}")
    results = json.loads(results_file.read_text(encoding="utf-8"))["results"]
    made = {r["unique_id"].split(".")[-1] for r in results if r["status"] == "success"}
    return made, "" if result.returncode == 0 else result.stdout[-3000:]


def write_dataset_dashboards(
    cursor: Any, manifest: dict[str, Any], datasets: Iterable[str], made: set[str], out: Path
) -> list[Path]:
    """The bundle folders of the `datasets`' generated dashboards, over the views in `made`."""

    def stats_of(model: dict[str, Any]) -> TableStats | None:
        if model["name"] not in made:
            return None
        cursor.execute(stats_query(model))
        return stats_from_row(model, tuple(cursor.fetchone()))

    folders = []
    for dataset in datasets:
        dashboard = dataset_dashboard(dataset, manifest, stats_of)
        if dashboard is not None:
            folder = out / dashboard.slug
            write_bundle(bundle(dashboard), folder)
            folders.append(folder)
    return folders
