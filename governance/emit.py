"""Emit the lakehouse's metadata: dbt (with test results), the glossary, the lake, the ingest lineage.

Steps, each a plain function:
1. the recipes in governance/recipes/ run through DataHub's Pipeline into JSON files (the `dbt` source
   over manifest, catalog and the run results saved after `dbt build`; the business glossary);
2. the lake's datasets come from DataHub's data-lake source, run in its own environment
   (governance.lake_source); what it cannot see (committed batches, row counts) and the ingest hops'
   lineage are built here (governance.lake_profiles, governance.lineage);
3. everything is merged into one file, `<lake>/governance/metadata.json`. DataHub replaces an
   aspect as a whole, so every dataset's upstreams (dbt's and ours) and properties (the source's and
   ours) are merged into one aspect each, never written twice;
4. for `--sink lite` or `--sink rest`, that file is replayed by the `file` source into DataHub Lite
   or a DataHub GMS (governance/recipes/sinks/). The file is always written: it is the record of what
   was sent.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from datahub.configuration.config_loader import load_config_file
from datahub.emitter import mce_builder
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.ingestion.run.pipeline import Pipeline
from datahub.metadata.schema_classes import DomainPropertiesClass, DomainsClass, TagPropertiesClass

from governance.collector import read_collected
from governance.datasets import INGEST_OWNER, PII_TAG, dataset_urn, ownership_mcp
from governance.lake_profiles import RawTable, committed_view, lakehouse_zone_mcps, raw_tables, raw_zone_mcps
from governance.lake_source import run_lake_source
from governance.lineage import ingest_lineage_mcps, read_audit, source_tables
from ingest.core import lake as lakes
from ingest.core.contract import contract_path, load_contract, shipped_datasets
from ingest.core.errors import DataError, TransientError
from ingest.core.personal import looks_personal
from ingest.core.settings import MySQLSettings, local_dir

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
RECIPES = HERE / "recipes"
GLOSSARY = HERE / "glossary.yml"
SINKS = ("file", "lite", "rest")
SAVED_RUN_RESULTS = "run_results.build.json"
METADATA_KEY = "governance/metadata.json"

DOMAINS = {
    "sales": "Customers, orders and what they bring: revenue, order lines, market segments.",
    "supply": "Parts, suppliers, their costs and stock.",
    "reference": "Shared reference data: geography (nations, regions) and the calendar.",
}
TAGS = {
    "pii": "Personal data in clear (names, addresses, phone numbers): restricted access only.",
    "pii_masked": "Personal data pseudonymized (SHA-256) or masked; fit for broad access.",
    "restricted": "Model that may hold personal data: access on a need-to-know basis.",
    "broad": "Model without personal data in clear: open to every analyst.",
    "tier_silver": "Staging: cleaned, renamed source data (dbt views).",
    "tier_gold": "Marts and reports: modelled, tested business tables.",
}


class GovernanceError(DataError):
    """Metadata could not be emitted; the message says what to do next."""


class SinkUnavailable(TransientError):
    """The metadata was written, but the DataHub sink did not take it; retried."""


def save_run_results(target_dir: Path) -> Path:
    """Copy `run_results.json` right after `dbt build`, before `dbt docs generate` overwrites it."""
    source = target_dir / "run_results.json"
    if not source.exists():
        raise GovernanceError(f"{source} does not exist: run `dbt build` first")
    saved = target_dir / SAVED_RUN_RESULTS
    shutil.copyfile(source, saved)
    return saved


def build_run_results(target_dir: Path) -> Path | None:
    """The run results of the last `dbt build`/`test`/`run`: the saved copy, else run_results.json if it is one."""
    saved = target_dir / SAVED_RUN_RESULTS
    if saved.exists():
        return saved
    current = target_dir / "run_results.json"
    if current.exists():
        which = json.loads(current.read_text(encoding="utf-8")).get("args", {}).get("which")
        if which in ("build", "test", "run"):
            return current
    log.warning("no run results of `dbt build` in %s: dbt tests are emitted without their results", target_dir)
    return None


def _recipe(name: str, env: dict[str, str]) -> dict[str, Any]:
    """A recipe from governance/recipes/, with ${VARS} resolved from `env` over the process environment."""
    return load_config_file(RECIPES / name, extra_env_vars=env)


def _sink(name: str, env: dict[str, str]) -> dict[str, Any]:
    if name not in SINKS:
        raise GovernanceError(f"unknown sink {name!r}: use one of {', '.join(SINKS)}")
    if name == "rest" and not os.environ.get("DATAHUB_GMS_URL"):
        raise GovernanceError(
            "the rest sink needs DATAHUB_GMS_URL (e.g. http://datahub-gms:8080) and, unless the server "
            "runs without authentication, DATAHUB_GMS_TOKEN (a personal access token)"
        )
    config = _recipe(f"sinks/{name}.yml", env)
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


def _read_records(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data) if isinstance(data, list) else [data]


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


def _referenced(records: list[dict[str, Any]], aspect: str, key: str) -> set[str]:
    return {
        str(value) for r in records if r.get("aspectName") == aspect for value in (r["aspect"]["json"].get(key) or [])
    }


def _catalog_mcps(records: list[dict[str, Any]]) -> list[MetadataChangeProposalWrapper]:
    """Properties of the domains and tags the models point at (a DataHub server needs the domains to exist)."""
    mcps = []
    for domain in sorted(_referenced(records, "domains", "domains")):
        name = domain.removeprefix("urn:li:domain:")
        mcps.append(
            MetadataChangeProposalWrapper(
                entityUrn=domain, aspect=DomainPropertiesClass(name=name, description=DOMAINS.get(name))
            )
        )
    for tag, description in TAGS.items():
        mcps.append(
            MetadataChangeProposalWrapper(
                entityUrn=mce_builder.make_tag_urn(tag), aspect=TagPropertiesClass(name=tag, description=description)
            )
        )
    return mcps


def _source_mcps(manifest: dict[str, Any]) -> list[MetadataChangeProposalWrapper]:
    """Owner and domain of each dbt source, which its YAML does not declare: the ingest team owns the raw
    tables, and a source belongs to the domain of the models that read it when they agree on one."""
    nodes = manifest.get("nodes", {})
    mcps = []
    for unique_id, source in manifest.get("sources", {}).items():
        meta = {**(source.get("source_meta") or {}), **(source.get("meta") or {})}
        urn = dataset_urn("dbt", f"{source['schema']}.{source.get('identifier') or source['name']}".lower())
        owner = str(meta.get("owner") or INGEST_OWNER)
        mcps.append(ownership_mcp(urn, owner))
        children = manifest.get("child_map", {}).get(unique_id, [])
        domains = {str((nodes[c].get("config") or {}).get("meta", {}).get("domain")) for c in children if c in nodes}
        domains.discard("None")
        domain = meta.get("domain") or (domains.pop() if len(domains) == 1 else None)
        if domain:
            mcps.append(
                MetadataChangeProposalWrapper(
                    entityUrn=urn, aspect=DomainsClass(domains=[mce_builder.make_domain_urn(str(domain))])
                )
            )
    return mcps


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


def metadata_path(lake_uri: str) -> Path:
    """Where the metadata file is written on this machine: in a local lake, else under LAKEHOUSE_LOCAL_DIR."""
    lake = lakes.parse_lake(lake_uri)
    if lake.scheme == "file":
        assert lake.root is not None
        return lake.root / METADATA_KEY
    return local_dir() / METADATA_KEY


def emit_metadata(
    target_dir: Path,
    lake_uri: str,
    sink: str = "file",
    *,
    datasets: Sequence[str] | None = None,
    mysql: MySQLSettings | None = None,
    lite_file: Path | None = None,
    airflow_metadata: Path | None = None,
    hmac_key: tuple[str, str] | None = None,
) -> Path:
    """Emit all governance metadata; return the local path of the metadata file (also uploaded to a gs:// lake).

    `target_dir` holds dbt's manifest.json and catalog.json (`dbt docs generate`) and the run results saved
    by `save_run_results` after `dbt build`. `datasets`: the contracts whose raw zone and ingest lineage are
    described (default: every shipped one; a dataset with nothing in the lake adds nothing). `sink`: file
    (only the file), lite (DataHub Lite, at `lite_file`, DATAHUB_LITE_FILE or
    <LAKEHOUSE_LOCAL_DIR>/datahub-lite/datahub.db) or rest (DATAHUB_GMS_URL, DATAHUB_GMS_TOKEN).
    `airflow_metadata`: what DataHub's Airflow plugin sent to the collector (DAGs, tasks, runs, Assets), merged in.
    `hmac_key`: (access id, secret) with which DataHub's gcs source reads a gs:// lake (default: the
    LAKEHOUSE_GCS_HMAC_ID and LAKEHOUSE_GCS_HMAC_SECRET variables).
    """
    target_dir = Path(target_dir)
    for needed in ("manifest.json", "catalog.json"):
        if not (target_dir / needed).exists():
            raise GovernanceError(f"{target_dir / needed} is missing: run `dbt build` then `dbt docs generate`")
    lake = lakes.parse_lake(lake_uri)
    manifest = json.loads((target_dir / "manifest.json").read_text(encoding="utf-8"))
    contracts = [load_contract(contract_path(name)) for name in (datasets or shipped_datasets())]
    lite = lite_file or Path(os.environ.get("DATAHUB_LITE_FILE") or local_dir() / "datahub-lite" / "datahub.db")
    output = metadata_path(lake_uri)
    output.parent.mkdir(parents=True, exist_ok=True)
    sink_config = _sink(sink, {"GOVERNANCE_OUT": str(output), "DATAHUB_LITE_FILE": str(lite)})

    with tempfile.TemporaryDirectory(prefix="governance-") as tmp:
        work = Path(tmp)
        run_results = build_run_results(target_dir)
        env = {
            "GOVERNANCE_DBT_TARGET": str(target_dir),
            "GOVERNANCE_RUN_RESULTS": str(run_results or ""),
            "GOVERNANCE_GLOSSARY": str(GLOSSARY),
        }
        dbt = _recipe("dbt.yml", env | {"GOVERNANCE_OUT": str(work / "dbt.json")})
        if run_results is None:
            dbt["source"]["config"].pop("run_results_paths", None)
        run_pipeline(dbt)
        run_pipeline(_recipe("glossary.yml", env | {"GOVERNANCE_OUT": str(work / "glossary.json")}))

        ours: list[MetadataChangeProposalWrapper] = list(lakehouse_zone_mcps(lake, manifest))
        model_folders = {str(mcp.entityUrn) for mcp in ours}
        raw_by_urn: dict[str, RawTable] = {}
        for contract in contracts:
            raw = raw_tables(lake, contract.dataset, [t.name for t in contract.tables])
            if not raw:
                continue
            audit = read_audit(mysql or MySQLSettings.from_env(), lake.uri, contract.dataset, raw)
            ours += raw_zone_mcps(lake, contract.dataset, raw)
            raw_by_urn |= {item.urn: item for item in raw}
            ours += ingest_lineage_mcps(contract, raw, audit, source_tables(manifest, contract.dataset))
        lake_datasets = model_folders | set(raw_by_urn)
        records = run_lake_source(lake, work / "lake.json", hmac_key=hmac_key)  # first: it names the lake's datasets
        records = committed_view(records, lake, lake_datasets, raw_by_urn)
        unread = lake_datasets - {str(r["entityUrn"]) for r in records if r.get("aspectName") == "schemaMetadata"}
        if unread:  # a path spec that no longer matches the lake's layout must not pass unnoticed
            raise GovernanceError(
                f"DataHub's data-lake source read no schema for {len(unread)} of the lake's datasets, e.g. "
                f"{sorted(unread)[0]}: check the path specs of governance/recipes/ against the lake's layout"
            )
        records += _read_records(work / "dbt.json") + _read_records(work / "glossary.json")
        if airflow_metadata is not None and airflow_metadata.exists():
            records += read_collected(airflow_metadata)
        tag_personal_source_columns(records, manifest)
        records += [mcp.to_obj(simplified_structure=True) for mcp in [*ours, *_source_mcps(manifest)]]
        records += [mcp.to_obj(simplified_structure=True) for mcp in _catalog_mcps(records)]
        records = merge_aspects(merge_records(records))
        tag_personal_lake_columns(records)

        staged = output.with_name(f".{output.name}.tmp")
        staged.write_text(json.dumps(records, indent=1), encoding="utf-8")
        os.replace(staged, output)  # readers never see half a file
        if lake.scheme == "gs":
            folder = work / "publish"
            folder.mkdir()
            shutil.copyfile(output, folder / "metadata.json")
            lakes.publish(lake, folder, "governance", "metadata.json")
        log.info("governance metadata: %d records in %s", len(records), output)

    if sink != "file":
        with tempfile.TemporaryDirectory(prefix="governance-replay-") as tmp:
            replay = output
            if sink == "rest":  # a server holds what other tools wrote: add our lineage, never replace it
                replay = Path(tmp) / "patches.json"
                replay.write_text(json.dumps(lineage_as_patches(records)), encoding="utf-8")
            try:
                run_pipeline({"source": {"type": "file", "config": {"path": str(replay)}}, "sink": sink_config})
            except Exception as exc:  # noqa: BLE001 - DataHub's errors quote part of the token: re-raise without it
                raise SinkUnavailable(
                    f"the {sink} sink failed ({type(exc).__name__}): {redact(str(exc))}; "
                    f"the metadata is in {output}, replay it with `datahub ingest` once the sink is reachable"
                ) from None
    return output


def redact(text: str) -> str:
    """A message without the GMS token, whole or in DataHub's partly masked form."""
    token = os.environ.get("DATAHUB_GMS_TOKEN")
    if token:
        text = text.replace(token, "***")
    return re.sub(r"(token[:=]\s*)\S+", r"\1***", text, flags=re.IGNORECASE)
