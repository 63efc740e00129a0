"""Superset's dashboards, charts and datasets in the lakehouse's metadata, through DataHub's own
`superset` source (governance/recipes/superset.yml), run in the governance environment.

Superset reaches the Spark Thrift server through SQLAlchemy's `hive://` dialect, so the source names
each dataset's upstream table on the `hive` platform; the Thrift server is Spark, and DataHub's dbt
source names the same tables on `spark` (`lakehouse_marts.sales_order_lines`). The records are
renamed onto `spark` and merged into `<lake>/governance/metadata.json`, so lineage runs from a
dashboard through its charts and datasets to the dbt models and on to the CSV files.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from governance.emit import metadata_path
from governance.errors import GovernanceError
from governance.lake_source import NOT_FOR_THE_CHILD, governance_venv
from governance.pipelines import RECIPES

HIVE = "urn:li:dataPlatform:hive,"
SPARK = "urn:li:dataPlatform:spark,"
SUPERSET_ENTITIES = (
    "urn:li:dashboard:(superset,",
    "urn:li:chart:(superset,",
    "urn:li:dataset:(urn:li:dataPlatform:superset,",
)


def on_spark(value: Any) -> Any:
    """`value` with every `hive` dataset URN named on `spark`, where the dbt models are."""
    if isinstance(value, str):
        return value.replace(HIVE, SPARK)
    if isinstance(value, Mapping):
        return {key: on_spark(item) for key, item in value.items()}
    if isinstance(value, list):
        return [on_spark(item) for item in value]
    return value


def run_superset_source(
    url: str, username: str, password: str, out: Path, timeout: float = 600
) -> list[dict[str, Any]]:
    """DataHub's superset source on the Superset at `url` into `out`; its records, on Spark."""
    datahub = governance_venv() / "bin" / "datahub"
    if not datahub.exists():
        raise GovernanceError(f"{datahub} is missing: run `make venv` (it makes .venv-governance)")
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_THE_CHILD}
    env |= {
        "GOVERNANCE_SUPERSET_URL": url,
        "GOVERNANCE_SUPERSET_USER": username,
        "GOVERNANCE_SUPERSET_PASSWORD": password,
        "GOVERNANCE_OUT": str(out),
        "DATAHUB_TELEMETRY_ENABLED": "false",
        "DATAHUB_SKIP_CONFIG": "true",
    }
    argv = [str(datahub), "ingest", "--no-default-report", "-c", str(RECIPES / "superset.yml")]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=timeout)
    if done.returncode != 0 or not out.exists():
        output = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:]).replace(password, "***")
        raise GovernanceError(f"DataHub's superset source failed on {url} (exit {done.returncode}): {output}")
    records = json.loads(out.read_text(encoding="utf-8"))
    return [on_spark(record) for record in (records if isinstance(records, list) else [records])]


def _is_superset(record: dict[str, Any]) -> bool:
    """Whether a record (an MCP, or an MCE whose snapshot is keyed by its type) is of Superset."""
    urn = record.get("entityUrn")
    if urn is None:
        snapshots: dict[str, Any] = record.get("proposedSnapshot") or {}
        urn = next((s.get("urn") for s in snapshots.values() if isinstance(s, dict)), "")
    return str(urn).startswith(SUPERSET_ENTITIES)


def add_superset_metadata(lake_uri: str, url: str, username: str, password: str) -> Path:
    """The Superset records of `url` merged into the lake's metadata file (replacing those of an
    earlier run); the file's path. The pipeline's governance step must have written it first."""
    output = metadata_path(lake_uri)
    if not output.exists():
        raise GovernanceError(f"{output} is missing: run `python -m governance emit` (the governance step) first")
    with tempfile.TemporaryDirectory(prefix="governance-superset-") as tmp:
        superset = run_superset_source(url, username, password, Path(tmp) / "superset.json")
    records = [r for r in json.loads(output.read_text(encoding="utf-8")) if not _is_superset(r)]
    staged = output.with_name(f".{output.name}.tmp")
    staged.write_text(json.dumps(records + superset, indent=1), encoding="utf-8")
    os.replace(staged, output)
    return output
