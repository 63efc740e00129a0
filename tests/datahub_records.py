"""Reading emitted DataHub metadata records: index them by URN, build dataset URNs, walk lineage."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def _aspect_name(key: str) -> str:
    """`com.linkedin.pegasus2avro.schema.SchemaMetadata` -> `schemaMetadata` (an MCE's key as an MCP's name)."""
    name = key.rsplit(".", 1)[-1]
    return name[0].lower() + name[1:]


def index(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    aspects: dict[str, dict[str, Any]] = defaultdict(dict)
    for record in records:
        if "proposedSnapshot" in record:
            body = next(iter(record["proposedSnapshot"].values()))
            for aspect in body["aspects"]:
                key, value = next(iter(aspect.items()))
                aspects[body["urn"]][_aspect_name(key)] = value
        else:
            aspects[record["entityUrn"]][record["aspectName"]] = record["aspect"]["json"]
    return aspects


def dbt_urn(name: str, platform: str = "dbt") -> str:
    return f"urn:li:dataset:(urn:li:dataPlatform:{platform},{name.lower()},PROD)"


def upstreams(aspects: dict[str, dict[str, Any]], urn: str) -> list[str]:
    return [u["dataset"] for u in aspects.get(urn, {}).get("upstreamLineage", {}).get("upstreams", [])]


def chain_to_csv(aspects: dict[str, dict[str, Any]], start: str) -> list[str] | None:
    """The first upstream path from `start` to a CSV file dataset (breadth first), or None."""
    paths = [[start]]
    seen = {start}
    while paths:
        path = paths.pop(0)
        if path[-1].startswith("urn:li:dataset:(urn:li:dataPlatform:file,") and path[-1].endswith(".csv,PROD)"):
            return path
        for upstream in upstreams(aspects, path[-1]):
            if upstream not in seen:
                seen.add(upstream)
                paths.append([*path, upstream])
    return None
