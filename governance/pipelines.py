"""Running DataHub's ingestion framework: the recipes of governance/recipes/ (sources and sinks)
resolved and run as Pipelines, the JSON records they write read back, and the GMS token kept out
of error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from datahub.configuration.config_loader import load_config_file
from datahub.ingestion.run.pipeline import Pipeline

from governance.errors import GovernanceError
from ingest.core.settings import settings

RECIPES = Path(__file__).parent / "recipes"
SINKS = ("file", "lite", "rest")


def recipe(name: str, env: dict[str, str]) -> dict[str, Any]:
    """A recipe from governance/recipes/, with ${VARS} resolved from `env` over the process environment."""
    return load_config_file(RECIPES / name, extra_env_vars=env)


def sink_recipe(name: str, env: dict[str, str]) -> dict[str, Any]:
    """The sink recipe `name` (one of SINKS) from governance/recipes/sinks/, checked and resolved."""
    if name not in SINKS:
        raise GovernanceError(f"unknown sink {name!r}: use one of {', '.join(SINKS)}")
    if name == "rest" and not settings().datahub_gms_url:
        raise GovernanceError(
            "the rest sink needs DATAHUB_GMS_URL (e.g. http://datahub-gms:8080) and, unless the server "
            "runs without authentication, DATAHUB_GMS_TOKEN (a personal access token)"
        )
    config = recipe(f"sinks/{name}.yml", env)
    if name == "rest" and not config["config"].get("token"):
        config["config"].pop("token", None)  # a server without authentication
    if name == "lite":
        Path(config["config"]["config"]["file"]).parent.mkdir(parents=True, exist_ok=True)
    return config


def run_pipeline(config: dict[str, Any]) -> None:
    """Run a DataHub ingestion pipeline; raise if the source or the sink reported failures."""
    pipeline = Pipeline.create(config, no_progress=True, report_to=None)
    pipeline.run()
    pipeline.raise_from_status(raise_warnings=False)


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records a pipeline's `file` sink wrote (a JSON list, or one record)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data) if isinstance(data, list) else [data]


def redact(text: str) -> str:
    """A message without the GMS token, whole or in DataHub's partly masked form."""
    token = settings().datahub_gms_token
    if token is not None:
        text = text.replace(token.get_secret_value(), "***")
    return re.sub(r"(token[:=]\s*)\S+", r"\1***", text, flags=re.IGNORECASE)
