"""Tag `pii` the personal-looking columns (the policy check's rule, ingest.core.personal) of the
datasets whose schemas carry no column meta: the dbt sources and the lake's datasets."""

from __future__ import annotations

from typing import Any

from datahub.emitter import mce_builder

from governance.datasets import PII_TAG, dataset_urn
from ingest.core.personal import looks_personal


def tag_personal_source_columns(records: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    """Tag `pii` the personal-looking columns of the dbt sources' schemas (the rule of the policy check),
    since the sources' YAML carries no column meta. Models are left as dbt emitted them: the policy check
    makes their YAML say it."""
    urns = {
        dataset_urn("dbt", f"{s['schema']}.{s.get('identifier') or s['name']}".lower())
        for s in manifest.get("sources", {}).values()
    }
    for record in records:
        snapshot = record.get("proposedSnapshot")
        body = next(iter(snapshot.values())) if snapshot else None
        if not body or body.get("urn") not in urns:
            continue
        for aspect in body.get("aspects", []):
            key, value = next(iter(aspect.items()))
            if key.endswith(".SchemaMetadata"):
                _tag_personal_fields(value.get("fields", []))


def tag_personal_lake_columns(records: list[dict[str, Any]]) -> None:
    """Tag `pii` the personal-looking columns of the lake's datasets (the policy check's rule): DataHub's
    data-lake source reads their schemas from Parquet files and knows nothing of personal data."""
    lake_platforms = tuple(f"urn:li:dataset:(urn:li:dataPlatform:{p}," for p in ("file", "gcs"))
    for record in records:
        if record.get("aspectName") == "schemaMetadata" and str(record["entityUrn"]).startswith(lake_platforms):
            _tag_personal_fields(record["aspect"]["json"].get("fields", []))


def _tag_personal_fields(fields: list[dict[str, Any]]) -> None:
    """Add the `pii` tag to the schema fields whose names look personal (the policy check's rule)."""
    pii = {"tag": mce_builder.make_tag_urn(PII_TAG)}
    for field in fields:
        if looks_personal(field["fieldPath"]):
            tags = field.get("globalTags") or {"tags": []}
            field["globalTags"] = tags
            if pii not in tags["tags"]:
                tags["tags"].append(pii)
