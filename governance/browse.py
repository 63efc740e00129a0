"""The pipeline's metadata in DataHub Lite, and a dataset's lineage read back from it.

`lakehouse-governance lineage rpt_pricing_summary` loads `<lake>/governance/metadata.json` into a
local DataHub Lite (SQLite) and walks `upstreamLineage` from the model to the CSV files it came
from: dbt model -> ... -> Spark source table -> lake folder -> MySQL table -> CSV file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from governance.errors import GovernanceError
from governance.pipelines import run_pipeline

DATASET_PREFIX = "urn:li:dataset:(urn:li:dataPlatform:"


@dataclass(frozen=True)
class Hop:
    urn: str
    depth: int

    @property
    def platform(self) -> str:
        return self.urn.removeprefix(DATASET_PREFIX).split(",", 1)[0]

    @property
    def name(self) -> str:
        return self.urn.removeprefix(DATASET_PREFIX).split(",", 1)[1].rsplit(",", 1)[0]


def load_into_lite(metadata: Path, lite_file: Path) -> None:
    """Every record of the metadata file into DataHub Lite at `lite_file` (created when missing)."""
    if not metadata.exists():
        raise GovernanceError(f"{metadata} does not exist: run the pipeline (or `lakehouse-governance emit`) first")
    lite_file.parent.mkdir(parents=True, exist_ok=True)
    sink = {"type": "datahub-lite", "config": {"type": "sqlite", "config": {"file": str(lite_file)}}}
    run_pipeline({"source": {"type": "file", "config": {"path": str(metadata)}}, "sink": sink})


def _lite(lite_file: Path) -> Any:
    from datahub.lite.lite_util import get_datahub_lite

    return get_datahub_lite({"type": "sqlite", "config": {"file": str(lite_file)}}, read_only=True)


def find_model(lite: Any, model: str) -> str:
    """The dbt dataset URN of a model (or source table) named `model`, e.g. `rpt_pricing_summary`."""
    wanted = model.lower()
    found = sorted(
        urn
        for urn in lite.list_ids()
        if urn.startswith(f"{DATASET_PREFIX}dbt,") and Hop(urn, 0).name.rsplit(".", 1)[-1] == wanted
    )
    if len(found) != 1:
        raise GovernanceError(
            f"{len(found)} dbt datasets named {model!r} in DataHub Lite: {', '.join(found) or 'none'}"
        )
    return str(found[0])


def upstreams(lite: Any, urn: str) -> list[str]:
    aspects = lite.get(id=urn, aspects=["upstreamLineage"]) or {}
    lineage = aspects.get("upstreamLineage") or {}
    return [u["dataset"] for u in lineage.get("upstreams", [])]


def lineage(lite_file: Path, model: str) -> list[Hop]:
    """Every dataset upstream of `model`, breadth first, each once, with its distance."""
    lite = _lite(lite_file)
    try:
        start = find_model(lite, model)
        hops, seen, frontier = [Hop(start, 0)], {start}, [start]
        depth = 0
        while frontier:
            depth += 1
            following = []
            for urn in frontier:
                for upstream in upstreams(lite, urn):
                    if upstream not in seen:
                        seen.add(upstream)
                        hops.append(Hop(upstream, depth))
                        following.append(upstream)
            frontier = following
        return hops
    finally:
        if hasattr(lite, "close"):
            lite.close()
