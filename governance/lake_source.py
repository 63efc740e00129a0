"""The lake's datasets through DataHub's own data-lake source, run in the governance environment.

DataHub's `s3` source reads a local lake (platform `file`, recipes/lake.yml) and its `gcs` source a
gs:// lake over GCS's S3-compatible API with an HMAC key (recipes/lake-gcs.yml). Their extras
cannot be installed beside Airflow (requirements-governance.txt), so the recipe runs as `datahub
ingest` of `.venv-governance` into a JSON file, which `emit_metadata` merges with the rest.

One spelling per dataset: the Airflow plugin and OpenLineage name `file:///lake/raw/t` with its
leading slash (`/lake/raw/t`); the `s3` source strips it (`lake/raw/t`). The lineage, the Assets and
the URN check use the absolute path, so the source's local names get their slash back here.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ingest.core.errors import DataError, TransientError
from ingest.core.lake import Lake
from ingest.core.settings import reveal, settings

REPO = Path(__file__).resolve().parents[1]
RECIPES = Path(__file__).parent / "recipes"
FILE_DATASET = "urn:li:dataset:(urn:li:dataPlatform:file,"
HMAC_VARIABLES = ("LAKEHOUSE_GCS_HMAC_ID", "LAKEHOUSE_GCS_HMAC_SECRET")
# What a path spec reads as a pattern or DataHub's recipe loader as a variable, not as a folder name.
PATTERN_CHARACTERS = set("{}[]*?$")
# The child writes a file: it needs no DataHub server (given one, it asks it for its config).
NOT_FOR_THE_CHILD = ("DATAHUB_GMS_URL", "DATAHUB_GMS_HOST", "DATAHUB_GMS_PORT", "DATAHUB_GMS_TOKEN")
TIMEOUT_SECONDS = 30 * 60  # a bucket that accepts connections and never answers must not hang the DAG


class LakeSourceError(DataError):
    """DataHub's data-lake source could not run; the message says what to do."""


class LakeSourceTimeout(TransientError):
    """DataHub's data-lake source did not finish in time (an unreachable bucket); retried."""


def governance_venv() -> Path:
    """The environment that holds DataHub's data-lake sources: LAKEHOUSE_GOVERNANCE_VENV or ./.venv-governance."""
    return settings().governance_venv


def recipe_for(lake: Lake, hmac_key: tuple[str, str] | None = None) -> tuple[Path, dict[str, str]]:
    """The recipe that reads `lake`, and the variables it needs besides GOVERNANCE_OUT. A gs:// lake
    needs an HMAC key: `hmac_key` (access id, secret), else LAKEHOUSE_GCS_HMAC_ID and _SECRET."""
    root = str(lake.root) if lake.scheme == "file" else "/".join(p for p in (lake.bucket, lake.prefix) if p)
    if PATTERN_CHARACTERS & set(root):
        raise LakeSourceError(
            f"DataHub's data-lake source reads {lake.uri} as a pattern: its path holds one of "
            f"{' '.join(sorted(PATTERN_CHARACTERS))}; move the lake to a path without them"
        )
    if lake.scheme == "file":
        return RECIPES / "lake.yml", {"GOVERNANCE_LAKE": root}
    configured = settings()
    given = hmac_key or (configured.gcs_hmac_id or "", reveal(configured.gcs_hmac_secret))
    key = dict(zip(HMAC_VARIABLES, given, strict=True))
    missing = [name for name, value in key.items() if not value]
    if missing:
        raise LakeSourceError(
            f"DataHub's gcs source reads {lake.uri} with an HMAC key: set {' and '.join(missing)} or the "
            "`lakehouse_gcs_hmac` connection (`gcloud storage hmac create <service account>`, docs/production.md)"
        )
    return RECIPES / "lake-gcs.yml", {"GOVERNANCE_LAKE": f"gs://{root}", **key}


def run_lake_source(
    lake: Lake,
    out: Path,
    *,
    hmac_key: tuple[str, str] | None = None,
    command: list[str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> list[dict[str, Any]]:
    """Run the lake's recipe in the governance environment into `out`; return its records, every local
    dataset named by its absolute path. The HMAC key reaches the recipe through the subprocess's
    environment only. `command` replaces `<venv>/bin/datahub` (the tests point the `gcs` source at a
    local S3 server through it)."""
    recipe, variables = recipe_for(lake, hmac_key)
    datahub = governance_venv() / "bin" / "datahub"
    if command is None and not datahub.exists():
        raise LakeSourceError(f"{datahub} is missing: run `make venv` (it makes .venv-governance)")
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_THE_CHILD}
    # DATAHUB_SKIP_CONFIG: nor a server and token from ~/.datahubenv (`datahub init`)
    env |= variables | {"GOVERNANCE_OUT": str(out), "DATAHUB_TELEMETRY_ENABLED": "false", "DATAHUB_SKIP_CONFIG": "true"}
    argv = [*(command or [str(datahub)]), "ingest", "--no-default-report", "-c", str(recipe)]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LakeSourceTimeout(
            f"DataHub's data-lake source did not finish reading {lake.uri} in {timeout:.0f} s: is the bucket reachable?"
        ) from None
    if done.returncode != 0 or not out.exists():
        output = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        secret = variables.get("LAKEHOUSE_GCS_HMAC_SECRET")
        output = output.replace(secret, "***") if secret else output
        raise LakeSourceError(f"DataHub's data-lake source failed on {lake.uri} (exit {done.returncode}): {output}")
    records = json.loads(out.read_text(encoding="utf-8"))
    return [absolute_file_names(record) for record in records]


def absolute_file_names(value: Any) -> Any:
    """`value` with every `file` dataset URN named by its absolute path (`lake/x` -> `/lake/x`)."""
    if isinstance(value, str):
        if value.startswith(FILE_DATASET) and not value.startswith(FILE_DATASET + "/"):
            return FILE_DATASET + "/" + value.removeprefix(FILE_DATASET)
        return value
    if isinstance(value, Mapping):
        return {key: absolute_file_names(item) for key, item in value.items()}
    if isinstance(value, list):
        return [absolute_file_names(item) for item in value]
    return value
