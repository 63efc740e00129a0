"""What DataHub's data-lake source cannot see in the lake: which batches are committed, and row counts.

DataHub's source (governance/lake_source.py) names each raw table and model folder and reads its
schema and folders. It cannot know the extract's rules: a raw table is its *current*
committed batches (`ingest.extract.batches`), not every file in its folder, and its profiler would
read every row (on a local folder, only the newest file). So this module adds, cheaply (and
`committed_view` drops what readers do not see):
- raw zone: from the current batches' `manifest.json`: the rows and bytes, the source database, the
  batch ids, a description, and a profile (row and column counts) that costs no scan;
- lakehouse zone: each model folder's row count from its Parquet footers (on a local lake; on GCS
  the footers would cost a request per file), and its lineage from the Spark table it stores.
Dataset names follow DataHub's data-lake sources: the table folder's path, on platform `file` (a
local lake, by its absolute path) or `gcs` (`bucket/prefix/...`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.metadata.schema_classes import (
    DatasetLineageTypeClass,
    DatasetProfileClass,
    DatasetPropertiesClass,
    SubTypesClass,
    UpstreamClass,
    UpstreamLineageClass,
)

from governance.datasets import Field, dataset_urn, ownership_mcp, schema_mcp
from ingest.core import lake as lakes
from ingest.core.lake import Lake
from ingest.extract.batches import BATCH_PREFIX, DELETED, Batch, current_batches, table_prefix

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawTable:
    """A raw-zone table as the lake's manifests describe it, and its urn."""

    dataset: str
    table: str
    urn: str
    batches: list[Batch]

    @property
    def source_database(self) -> str:
        return self.batches[-1].manifest.source_database


# The hive partition of the raw zone: DataHub's source adds no partition column to the schemas it reads
# (locally it lists no partitions; the gcs source does not pass that setting on).
BATCH_FIELD = Field("batch", "string", False)


def lake_platform(lake: Lake) -> str:
    return "gcs" if lake.scheme == "gs" else "file"


def lake_name(lake: Lake, key: str) -> str:
    """A folder's dataset name: its absolute path locally, `bucket/prefix/key` on GCS."""
    if lake.scheme == "file":
        assert lake.root is not None
        return str(lake.root / key)
    return "/".join(part for part in (lake.bucket, lake.prefix, key) if part)


def lake_urn(lake: Lake, key: str) -> str:
    return dataset_urn(lake_platform(lake), lake_name(lake, key))


def raw_tables(lake: Lake, dataset: str, tables: list[str]) -> list[RawTable]:
    """The tables of a dataset that have at least one committed batch in the lake."""
    found = []
    for table in tables:
        batches = current_batches(lake, dataset, table)
        if batches:
            found.append(RawTable(dataset, table, lake_urn(lake, table_prefix(dataset, table)), batches))
    return found


def raw_zone_mcps(lake: Lake, dataset: str, raw: list[RawTable]) -> Iterator[MetadataChangeProposalWrapper]:
    """Properties, a manifest-based profile and ownership of each raw-zone table."""
    now = int(time.time() * 1000)
    for item in raw:
        latest = item.batches[-1].manifest
        key = table_prefix(dataset, item.table)
        rows = sum(b.manifest.rows for b in item.batches)
        yield MetadataChangeProposalWrapper(
            entityUrn=item.urn,
            aspect=DatasetPropertiesClass(
                qualifiedName=lakes.url(lake, key),
                description=(
                    f"Raw zone: `{dataset}.{item.table}` extracted from MySQL database `{item.source_database}`; "
                    "Parquet, hive-partitioned by `batch`; a batch is committed when its manifest.json exists."
                ),
                customProperties={
                    "format": "parquet",
                    "compression": latest.compression,
                    "location": lakes.url(lake, key),
                    "current_batches": ",".join(b.id for b in item.batches),
                    "rows": str(rows),
                    "bytes": str(sum(b.manifest.bytes for b in item.batches)),
                    "source_database": item.source_database,
                    "committed_at": latest.committed_at,
                },
            ),
        )
        yield MetadataChangeProposalWrapper(entityUrn=item.urn, aspect=SubTypesClass(typeNames=["Table"]))
        yield schema_mcp(item.urn, lake_platform(lake), f"{dataset}.{item.table}", [BATCH_FIELD])
        yield MetadataChangeProposalWrapper(
            entityUrn=item.urn,
            # the contract's columns, the tombstone flag and the `batch` partition
            aspect=DatasetProfileClass(timestampMillis=now, rowCount=rows, columnCount=len(latest.columns) + 1),
        )
        yield ownership_mcp(item.urn)


def _hidden(file_key: str, folder: str) -> bool:
    """A file inside a `_` or `.` folder of a model (Spark's `_temporary/` of an unfinished write)."""
    return any(part.startswith(("_", ".")) for part in file_key[len(folder) + 1 :].split("/"))


def _footer_profile(lake: Lake, files: list[str], partitions: int, now: int) -> DatasetProfileClass | None:
    """Rows and columns of a model folder from its Parquet footers (a local lake only); the hive
    partition folders are columns too."""
    if lake.scheme != "file":
        return None
    footers = [pq.ParquetFile(lakes.url(lake, key)).metadata for key in files]
    rows = sum(footer.num_rows for footer in footers)
    return DatasetProfileClass(timestampMillis=now, rowCount=rows, columnCount=footers[0].num_columns + partitions)


def model_folders(manifest: dict[str, Any]) -> dict[str, str]:
    """Model name -> its Spark table (`schema.alias`, lower case), for models stored as Parquet folders."""
    folders = {}
    for node in manifest.get("nodes", {}).values():
        materialized = node.get("config", {}).get("materialized")
        if node.get("resource_type") == "model" and materialized in ("table", "incremental"):
            alias = node.get("alias") or node["name"]
            folders[alias] = f"{node['schema']}.{alias}".lower()
    return folders


def lakehouse_zone_mcps(lake: Lake, manifest: dict[str, Any]) -> Iterator[MetadataChangeProposalWrapper]:
    """Each model's Parquet folder under `<lake>/lakehouse/`: its description, row count and lineage
    from the Spark table it stores."""
    now = int(time.time() * 1000)
    for folder, spark_table in sorted(model_folders(manifest).items()):
        key = f"lakehouse/{folder}"
        files = sorted(k for k in lakes.list_files(lake, key) if k.endswith(".parquet") and not _hidden(k, key))
        if not files:
            continue
        partitions = [part.split("=", 1)[0] for part in files[0][len(key) + 1 :].split("/")[:-1] if "=" in part]
        urn = lake_urn(lake, key)
        yield MetadataChangeProposalWrapper(
            entityUrn=urn,
            aspect=DatasetPropertiesClass(
                name=folder,
                qualifiedName=lakes.url(lake, key),
                description=f"Lakehouse zone: the Parquet files of Spark table `{spark_table}` (dbt model {folder}).",
                customProperties={
                    "format": "parquet",
                    "location": lakes.url(lake, key),
                    "files": str(len(files)),
                    "partitioned_by": ",".join(partitions),
                },
            ),
        )
        yield MetadataChangeProposalWrapper(entityUrn=urn, aspect=SubTypesClass(typeNames=["Table"]))
        if partitions:
            fields = [Field(name, "string (hive partition)", True) for name in partitions]
            yield schema_mcp(urn, lake_platform(lake), folder, fields)
        profile = _footer_profile(lake, files, len(partitions), now)
        if profile is not None:
            yield MetadataChangeProposalWrapper(entityUrn=urn, aspect=profile)
        yield MetadataChangeProposalWrapper(
            entityUrn=urn,
            aspect=UpstreamLineageClass(
                upstreams=[UpstreamClass(dataset=dataset_urn("spark", spark_table), type=DatasetLineageTypeClass.COPY)]
            ),
        )


def raw_schema_mcp(lake: Lake, item: RawTable) -> MetadataChangeProposalWrapper:
    """A raw table's schema from its newest current batch's manifest: the contract's columns with their
    Arrow types, the tombstone flag and the `batch` partition."""
    fields = [Field(c.name, c.arrow, c.nullable) for c in item.batches[-1].manifest.columns]
    fields += [Field(DELETED, "bool", False), BATCH_FIELD]
    return schema_mcp(item.urn, lake_platform(lake), f"{item.dataset}.{item.table}", fields)


def committed_view(
    records: list[dict[str, Any]], lake: Lake, known: set[str], raw: dict[str, RawTable]
) -> list[dict[str, Any]]:
    """What DataHub's data-lake source emitted, as the lake's readers see the lake. It lists files, not
    batches: so the datasets the project does not know (a raw table with no committed batch yet, a
    model's folder left behind) are dropped, and a raw table whose schema was read from a batch that
    is not current (an upload in progress on GCS) gets its current batch's schema instead (the source's
    file count and size still count the upload's files)."""
    kept = []
    inferred: dict[str, str] = {}
    for record in records:
        urn = str(record.get("entityUrn", ""))
        if urn.startswith("urn:li:dataset:") and urn not in known:
            log.info("not a dataset of the lake's readers (no committed batch, or no model): %s", urn)
            continue
        aspect = (record.get("aspect") or {}).get("json")
        if record.get("aspectName") == "datasetProperties" and urn in raw and isinstance(aspect, dict):
            inferred[urn] = str((aspect.get("customProperties") or {}).get("schema_inferred_from", ""))
        kept.append(record)
    for record in kept:
        urn = str(record.get("entityUrn", ""))
        if record.get("aspectName") != "schemaMetadata" or urn not in raw:
            continue
        item = raw[urn]
        batch = re.findall(rf"/{BATCH_PREFIX}([^/]+)/", inferred.get(urn, ""))  # the last: the lake may sit in one
        if not batch or batch[-1] not in {b.id for b in item.batches}:
            log.info("%s: schema read from a batch that is not current; the current manifest's instead", urn)
            record["aspect"]["json"] = raw_schema_mcp(lake, item).to_obj(simplified_structure=True)["aspect"]["json"]
    return kept
