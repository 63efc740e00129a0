"""Emit the lakehouse's metadata: dbt (with test results), the glossary, the lake, the ingest lineage.

Steps, each a plain function:
1. the recipes in governance/recipes/ run through DataHub's Pipeline into JSON files (governance.pipelines:
   the `dbt` source over manifest, catalog and the run results saved after `dbt build`, governance.run_results;
   the business glossary);
2. the lake's datasets come from DataHub's data-lake source, run in its own environment
   (governance.lake_source); what it cannot see (committed batches, row counts) and the ingest hops'
   lineage are built here (governance.lake_profiles, governance.lineage);
3. everything is merged into one file, `<lake>/governance/metadata.json`. DataHub replaces an
   aspect as a whole, so every dataset's upstreams (dbt's and ours) and properties (the source's and
   ours) are merged into one aspect each, never written twice (governance.aspects); personal-looking columns
   are tagged `pii` (governance.personal_tags), domains and tags described (governance/domains_and_tags.yml);
4. for `--sink lite` or `--sink rest`, that file is replayed by the `file` source into DataHub Lite
   or a DataHub GMS (governance/recipes/sinks/). The file is always written: it is the record of what
   was sent.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from datahub.emitter import mce_builder
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.metadata.schema_classes import DomainPropertiesClass, DomainsClass, TagPropertiesClass

from governance.aspects import lineage_as_patches, merge_aspects, merge_records
from governance.collector import read_collected
from governance.datasets import INGEST_OWNER, dataset_urn, ownership_mcp
from governance.errors import GovernanceError, SinkUnavailable
from governance.lake_profiles import RawTable, committed_view, lakehouse_zone_mcps, raw_tables, raw_zone_mcps
from governance.lake_source import run_lake_source
from governance.lineage import ingest_lineage_mcps, read_audit, source_tables
from governance.model_jobs import model_job_mcps
from governance.personal_tags import tag_personal_lake_columns, tag_personal_source_columns
from governance.pipelines import read_records, recipe, redact, run_pipeline, sink_recipe
from governance.run_results import build_run_results
from ingest.core import lake as lakes
from ingest.core.contract import contract_path, load_contract, shipped_datasets
from ingest.core.settings import MySQLSettings, local_dir, settings

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
GLOSSARY = HERE / "glossary.yml"
DOMAINS_AND_TAGS = HERE / "domains_and_tags.yml"
METADATA_KEY = "governance/metadata.json"


def read_domains_and_tags(path: Path = DOMAINS_AND_TAGS) -> tuple[dict[str, str], dict[str, str]]:
    """The descriptions of the catalog's domains and tags, by name (governance/domains_and_tags.yml)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = []
    for section in ("domains", "tags"):
        names = document.get(section) if isinstance(document, dict) else None
        if not isinstance(names, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
            raise GovernanceError(f"{path}: `{section}` must map each name to its description")
        found.append(names)
    return found[0], found[1]


def _referenced(records: list[dict[str, Any]], aspect: str, key: str) -> set[str]:
    return {
        str(value) for r in records if r.get("aspectName") == aspect for value in (r["aspect"]["json"].get(key) or [])
    }


def _catalog_mcps(records: list[dict[str, Any]]) -> list[MetadataChangeProposalWrapper]:
    """Properties of the domains and tags the models point at (a DataHub server needs the domains to exist)."""
    domains, tags = read_domains_and_tags()
    mcps = []
    for domain in sorted(_referenced(records, "domains", "domains")):
        name = domain.removeprefix("urn:li:domain:")
        mcps.append(
            MetadataChangeProposalWrapper(
                entityUrn=domain, aspect=DomainPropertiesClass(name=name, description=domains.get(name))
            )
        )
    for tag, description in tags.items():
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
    pipeline_dags: dict[str, str] | None = None,
) -> Path:
    """Emit all governance metadata; return the local path of the metadata file (also uploaded to a gs:// lake).

    `target_dir` holds dbt's manifest.json and catalog.json (`dbt docs generate`) and the run results saved
    by `save_run_results` after `dbt build`. `datasets`: the contracts whose raw zone and ingest lineage are
    described (default: every shipped one; a dataset with nothing in the lake adds nothing). `sink`: file
    (only the file), lite (DataHub Lite, at `lite_file`, DATAHUB_LITE_FILE or
    <LAKEHOUSE_LOCAL_DIR>/datahub-lite/datahub.db) or rest (DATAHUB_GMS_URL, DATAHUB_GMS_TOKEN).
    `airflow_metadata`: what DataHub's Airflow plugin sent to the collector (DAGs, tasks, runs, Assets), merged in.
    `hmac_key`: (access id, secret) with which DataHub's gcs source reads a gs:// lake (default: the
    LAKEHOUSE_GCS_HMAC_ID and LAKEHOUSE_GCS_HMAC_SECRET variables). `pipeline_dags`: dataset -> the DAG
    that builds it, whose model tasks get a DataJob each with the model's datasets (governance.model_jobs).
    """
    target_dir = Path(target_dir)
    for needed in ("manifest.json", "catalog.json"):
        if not (target_dir / needed).exists():
            raise GovernanceError(f"{target_dir / needed} is missing: run `dbt build` then `dbt docs generate`")
    lake = lakes.parse_lake(lake_uri)
    manifest = json.loads((target_dir / "manifest.json").read_text(encoding="utf-8"))
    contracts = [load_contract(contract_path(name)) for name in (datasets or shipped_datasets())]
    lite = lite_file or settings().datahub_lite_file or local_dir() / "datahub-lite" / "datahub.db"
    output = metadata_path(lake_uri)
    output.parent.mkdir(parents=True, exist_ok=True)
    sink_config = sink_recipe(sink, {"GOVERNANCE_OUT": str(output), "DATAHUB_LITE_FILE": str(lite)})

    with tempfile.TemporaryDirectory(prefix="governance-") as tmp:
        work = Path(tmp)
        run_results = build_run_results(target_dir)
        env = {
            "GOVERNANCE_DBT_TARGET": str(target_dir),
            "GOVERNANCE_RUN_RESULTS": str(run_results or ""),
            "GOVERNANCE_GLOSSARY": str(GLOSSARY),
        }
        dbt = recipe("dbt.yml", env | {"GOVERNANCE_OUT": str(work / "dbt.json")})
        if run_results is None:
            dbt["source"]["config"].pop("run_results_paths", None)
        run_pipeline(dbt)
        run_pipeline(recipe("glossary.yml", env | {"GOVERNANCE_OUT": str(work / "glossary.json")}))

        ours: list[MetadataChangeProposalWrapper] = list(lakehouse_zone_mcps(lake, manifest))
        model_folders = {str(mcp.entityUrn) for mcp in ours}
        raw_by_urn: dict[str, RawTable] = {}
        built: set[str] = set()  # the datasets with tables in the lake
        pipeline_dags = pipeline_dags or {}
        for contract in contracts:
            raw = raw_tables(lake, contract.dataset, [t.name for t in contract.tables])
            if not raw:
                continue
            built.add(contract.dataset)
            audit = read_audit(mysql or MySQLSettings.from_env(), lake.uri, contract.dataset, raw)
            ours += raw_zone_mcps(lake, contract.dataset, raw)
            raw_by_urn |= {item.urn: item for item in raw}
            ours += ingest_lineage_mcps(contract, raw, audit, source_tables(manifest, contract.dataset))
        ours += model_job_mcps(manifest, {d: pipeline_dags[d] for d in pipeline_dags if d in built})
        lake_datasets = model_folders | set(raw_by_urn)
        records = run_lake_source(lake, work / "lake.json", hmac_key=hmac_key)  # first: it names the lake's datasets
        records = committed_view(records, lake, lake_datasets, raw_by_urn)
        unread = lake_datasets - {str(r["entityUrn"]) for r in records if r.get("aspectName") == "schemaMetadata"}
        if unread:  # a path spec that no longer matches the lake's layout must not pass unnoticed
            raise GovernanceError(
                f"DataHub's data-lake source read no schema for {len(unread)} of the lake's datasets, e.g. "
                f"{sorted(unread)[0]}: check the path specs of governance/recipes/ against the lake's layout"
            )
        records += read_records(work / "dbt.json") + read_records(work / "glossary.json")
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
