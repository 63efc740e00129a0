"""Merging the records of several sources into one aspect per dataset: DataHub replaces an aspect
as a whole, so upstreams, properties and schema fields written twice would clobber each other; for
a DataHub server, lineage goes as patches that add to what other tools wrote."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any


def _upstream_of(record: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(urn, upstreamLineage aspect as JSON) of a record, for both MCPs and MCE snapshots."""
    if record.get("aspectName") == "upstreamLineage":
        return str(record["entityUrn"]), record["aspect"]["json"]
    snapshot = record.get("proposedSnapshot")
    if snapshot:
        body = next(iter(snapshot.values()))
        for aspect in body.get("aspects", []):
            key, value = next(iter(aspect.items()))
            if key.endswith(".UpstreamLineage"):
                return str(body["urn"]), value
    return None


def merge_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge every dataset's upstreamLineage aspects into the first one (upstreams and fine-grained
    lineage, without duplicates), and drop the later ones: one aspect per dataset, nothing clobbered."""
    merged: list[dict[str, Any]] = []
    first: dict[str, dict[str, Any]] = {}
    for record in records:
        found = _upstream_of(record)
        if found is None:
            merged.append(record)
            continue
        urn, aspect = found
        if urn not in first:
            first[urn] = aspect
            merged.append(record)
            continue
        target = first[urn]
        seen = {u["dataset"] for u in target.get("upstreams", [])}
        target.setdefault("upstreams", []).extend(u for u in aspect.get("upstreams", []) if u["dataset"] not in seen)
        if aspect.get("fineGrainedLineages"):
            target["fineGrainedLineages"] = (target.get("fineGrainedLineages") or []) + aspect["fineGrainedLineages"]
        snapshot = record.get("proposedSnapshot")
        if snapshot:  # keep the snapshot's other aspects
            body = next(iter(snapshot.values()))
            body["aspects"] = [a for a in body["aspects"] if not next(iter(a)).endswith(".UpstreamLineage")]
            if body["aspects"]:
                merged.append(record)
    return merged


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _add_properties(target: dict[str, Any], later: dict[str, Any]) -> None:
    for key, value in later.items():
        if key == "customProperties":
            properties = target.get("customProperties") or {}
            target["customProperties"] = properties
            properties.update({k: v for k, v in (value or {}).items() if k not in properties})
        elif not _is_empty(value) and _is_empty(target.get(key)):
            target[key] = value


def _add_fields(target: dict[str, Any], later: dict[str, Any]) -> None:
    fields = target.get("fields") or []
    target["fields"] = fields
    known = {f["fieldPath"] for f in fields}
    fields.extend(f for f in later.get("fields") or [] if f["fieldPath"] not in known)


MERGED_ASPECTS = {"datasetProperties": _add_properties, "schemaMetadata": _add_fields}


def _top_level_adds(patch: Any) -> bool:
    return isinstance(patch, list) and all(
        isinstance(op, dict) and op.get("op") == "add" and str(op.get("path", "")).count("/") == 1 for op in patch
    )


def merge_aspects(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One datasetProperties and one schemaMetadata per dataset: the first one written (DataHub's
    data-lake source names and reads the lake's datasets), with what later ones add: custom
    properties, values it left empty (our description of a raw table), fields it does not have (the
    hive partition columns, which it adds to none). Patches of top-level fields (the source sets
    `lastModified` by a patch) are applied to it, whether they come before or after it, since the file
    and Lite keep whole aspects; any other record goes through as it is."""
    merged: list[dict[str, Any]] = []
    first: dict[tuple[str, str], dict[str, Any]] = {}
    early: dict[tuple[str, str], list[dict[str, Any]]] = {}  # patches waiting for their aspect
    for record in records:
        name, urn, aspect = record.get("aspectName"), record.get("entityUrn"), record.get("aspect")
        body = aspect.get("json") if isinstance(aspect, dict) else None
        if name not in MERGED_ASPECTS or not urn or body is None:
            merged.append(record)
            continue
        key = (str(urn), str(name))
        target = first.get(key)
        if record.get("changeType", "UPSERT") == "PATCH" and _top_level_adds(body):
            if target is None:
                early.setdefault(key, []).append(record)
                continue
            for op in body:
                target[op["path"][1:]] = op["value"]
            continue
        if record.get("changeType", "UPSERT") != "UPSERT" or not isinstance(body, dict):
            merged.append(record)
            continue
        if target is None:
            first[key] = body
            merged.append(record)
            for patch in early.pop(key, []):  # what the whole aspect does not say itself
                for op in patch["aspect"]["json"]:
                    body.setdefault(op["path"][1:], op["value"])
            continue
        MERGED_ASPECTS[str(name)](target, body)
    return merged + [patch for patches in early.values() for patch in patches]


def lineage_as_patches(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records with every upstreamLineage aspect turned into a patch that adds its upstreams (and
    column lineage) to what the server holds: lineage other sources wrote on the same datasets stays.
    The file and DataHub Lite keep whole aspects (`merge_records` merged them already)."""
    from datahub.metadata.schema_classes import FineGrainedLineageClass, UpstreamClass
    from datahub.specific.dataset import DatasetPatchBuilder

    out: list[dict[str, Any]] = []
    for record in records:
        found = _upstream_of(record) if record.get("changeType", "UPSERT") == "UPSERT" else None
        if found is None:
            out.append(record)
            continue
        urn, aspect = found
        snapshot = record.get("proposedSnapshot")
        if snapshot:  # an entity snapshot (dbt's source writes some): its other aspects go as they are
            body = copy.deepcopy(next(iter(snapshot.values())))
            body["aspects"] = [a for a in body["aspects"] if not next(iter(a)).endswith(".UpstreamLineage")]
            if body["aspects"]:
                out.append({"proposedSnapshot": {next(iter(snapshot)): body}})
        patch = DatasetPatchBuilder(urn)
        for upstream in aspect.get("upstreams", []):
            patch.add_upstream_lineage(UpstreamClass.from_obj(upstream))
        for column_lineage in aspect.get("fineGrainedLineages") or []:
            patch.add_fine_grained_upstream_lineage(FineGrainedLineageClass.from_obj(column_lineage))
        out += [mcp.to_obj() for mcp in patch.build()]
    return out
