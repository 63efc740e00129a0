"""Lineage of the ingest hops: CSV file -> MySQL table -> lake Parquet -> the dbt source on Spark.

Built from the dataset contract (tables, columns, types) and the MySQL audit tables:
`file_loads` says which files are behind each table's current contents (the last successful load
of that database and table), `extracts` says which run committed the lake's current batch. The
lake's manifests say which MySQL database each batch came from.

Emitted as one DataFlow per dataset (`ingest_<dataset>` on orchestrator `lakehouse`) with two
DataJobs per table, `load.<table>` (CSV files -> MySQL) and `extract.<table>` (MySQL -> lake), and
UpstreamLineage on each dataset, so DataHub's lineage view walks from any dbt model back to the
CSV file: spark `<source schema>.<table>` <- lake folder <- mysql `<database>.<table>` <- file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from datahub.emitter import mce_builder
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.metadata.schema_classes import (
    DataFlowInfoClass,
    DataJobInfoClass,
    DataJobInputOutputClass,
    DatasetLineageTypeClass,
    DatasetPropertiesClass,
    SubTypesClass,
    UpstreamClass,
    UpstreamLineageClass,
)

from governance.datasets import ENV, Field, dataset_urn, ownership_mcp, schema_mcp
from governance.lake_profiles import RawTable
from ingest.core.contract import Contract, Table
from ingest.core.mysql import connect
from ingest.core.settings import MySQLSettings
from ingest.extract.audit import extracts_table, lake_id
from ingest.load.audit import audit_table

ORCHESTRATOR = "lakehouse"


@dataclass
class TableAudit:
    """What the audit tables say about one table: its current files and its current batch's run."""

    files: list[dict[str, Any]] = field(default_factory=list)
    extract: dict[str, Any] | None = None


def read_audit(settings: MySQLSettings, lake_uri: str, dataset: str, raw: list[RawTable]) -> dict[str, TableAudit]:
    """Per table: the files of the last successful load into the batch's source database, and the extract
    run that committed the latest current batch."""
    found: dict[str, TableAudit] = {}
    conn = connect(settings)
    try:
        with conn.cursor() as cursor:
            for item in raw:
                audit = found.setdefault(item.table, TableAudit())
                cursor.execute(
                    f"SELECT run_id FROM {audit_table()} WHERE database_name = %s AND table_name = %s "
                    "AND status = 'succeeded' ORDER BY finished_at DESC, load_id DESC LIMIT 1",
                    (item.source_database, item.table),
                )
                row = cursor.fetchone()
                if row is not None:
                    cursor.execute(
                        "SELECT run_id, dataset, file_path, file_size, file_sha256, load_mode, rows_read, "
                        "rows_loaded, rows_rejected, quarantine_path, finished_at "
                        f"FROM {audit_table()} WHERE run_id = %s "
                        "AND database_name = %s AND table_name = %s AND status = 'succeeded' ORDER BY file_path",
                        (row[0], item.source_database, item.table),
                    )
                    names = [d[0] for d in cursor.description]
                    audit.files = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
                cursor.execute(
                    f"SELECT run_id, database_name, batch_id, mode, reader, watermark_column, watermark_low, "
                    f"watermark_high, source_rows, rows_written, bytes_written, finished_at FROM {extracts_table()} "
                    "WHERE lake_id = %s AND dataset = %s AND table_name = %s AND batch_id = %s "
                    "AND status = 'committed'",
                    (lake_id(lake_uri), dataset, item.table, item.batches[-1].id),
                )
                names = [d[0] for d in cursor.description]
                rows = cursor.fetchall()
                audit.extract = dict(zip(names, rows[0], strict=True)) if rows else None
    finally:
        conn.close()
    return found


def _props(record: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, str]:
    if not record:
        return {}
    return {key: str(record[key]) for key in keys if record.get(key) is not None}


def _upstreams(urns: list[str]) -> UpstreamLineageClass:
    return UpstreamLineageClass(upstreams=[UpstreamClass(dataset=u, type=DatasetLineageTypeClass.COPY) for u in urns])


def source_tables(manifest: dict[str, Any], dataset: str) -> dict[str, str]:
    """Raw table -> the Spark table of its dbt source (`raw_tpch.customer`), as dbt's DataHub source names it.

    dbt sources that read the lake say which contract they hold with `meta.lake_dataset`."""
    found = {}
    for source in manifest.get("sources", {}).values():
        meta = {**(source.get("source_meta") or {}), **(source.get("meta") or {})}
        if meta.get("lake_dataset") == dataset:
            found[str(source["name"]).lower()] = (
                f"{source['schema']}.{source.get('identifier') or source['name']}".lower()
            )
    return found


def _csv_fields(table: Table) -> list[Field]:
    return [Field(c.header or c.name, f"CSV {c.type}", c.nullable) for c in table.columns]


def ingest_lineage_mcps(
    contract: Contract,
    raw: list[RawTable],
    audit: dict[str, TableAudit],
    spark_sources: dict[str, str],
) -> Iterator[MetadataChangeProposalWrapper]:
    """The DataFlow, its DataJobs, the CSV and MySQL datasets, and UpstreamLineage along every hop."""
    flow_urn = mce_builder.make_data_flow_urn(ORCHESTRATOR, f"ingest_{contract.dataset}", ENV)
    yield MetadataChangeProposalWrapper(
        entityUrn=flow_urn,
        aspect=DataFlowInfoClass(
            name=f"ingest {contract.dataset}",
            description=(
                f"`python -m ingest load` (CSV files -> MySQL) and `python -m ingest extract` (MySQL -> the lake) "
                f"for dataset contract `{contract.dataset}` (ingest/contracts/{contract.dataset}.yml)."
            ),
            customProperties={"contract": f"ingest/contracts/{contract.dataset}.yml"},
        ),
    )
    yield ownership_mcp(flow_urn)
    tables = {t.name: t for t in contract.tables}
    for item in raw:
        table = tables.get(item.table)
        if table is None:
            continue
        record = audit.get(item.table, TableAudit())
        mysql_urn = dataset_urn("mysql", f"{item.source_database}.{item.table}")
        csv_urns = [dataset_urn("file", str(f["file_path"])) for f in record.files]

        for urn, file in zip(csv_urns, record.files, strict=True):
            yield schema_mcp(urn, "file", str(file["file_path"]), _csv_fields(table))
            yield MetadataChangeProposalWrapper(
                entityUrn=urn,
                aspect=DatasetPropertiesClass(
                    name=str(file["file_path"]).rsplit("/", 1)[-1],
                    qualifiedName=str(file["file_path"]),
                    description=f"CSV file loaded into MySQL table `{item.source_database}.{item.table}`.",
                    customProperties=_props(
                        file, ("file_sha256", "file_size", "rows_read", "rows_loaded", "rows_rejected")
                    )
                    | {"files_pattern": table.files, "delimiter": table.dialect.delimiter},
                ),
            )
            yield MetadataChangeProposalWrapper(entityUrn=urn, aspect=SubTypesClass(typeNames=["File"]))
            yield ownership_mcp(urn)

        yield schema_mcp(
            mysql_urn,
            "mysql",
            f"{item.source_database}.{item.table}",
            [Field(c.name, c.type.sql(), c.nullable) for c in table.columns],
        )
        yield MetadataChangeProposalWrapper(
            entityUrn=mysql_urn,
            aspect=DatasetPropertiesClass(
                name=item.table,
                qualifiedName=f"{item.source_database}.{item.table}",
                description=table.description or f"MySQL table loaded from the files `{table.files}` by `ingest load`.",
                customProperties={"primary_key": ",".join(table.primary_key), "load_mode": table.mode},
            ),
        )
        yield MetadataChangeProposalWrapper(entityUrn=mysql_urn, aspect=SubTypesClass(typeNames=["Table"]))
        yield ownership_mcp(mysql_urn)
        if csv_urns:
            yield MetadataChangeProposalWrapper(entityUrn=mysql_urn, aspect=_upstreams(csv_urns))
        yield MetadataChangeProposalWrapper(entityUrn=item.urn, aspect=_upstreams([mysql_urn]))
        spark_table = spark_sources.get(item.table)
        if spark_table:
            yield MetadataChangeProposalWrapper(
                entityUrn=dataset_urn("spark", spark_table), aspect=_upstreams([item.urn])
            )

        load_urn = mce_builder.make_data_job_urn_with_flow(flow_urn, f"load.{item.table}")
        first = record.files[0] if record.files else None
        yield MetadataChangeProposalWrapper(
            entityUrn=load_urn,
            aspect=DataJobInfoClass(
                name=f"load {item.table}",
                type="COMMAND",
                flowUrn=flow_urn,
                description=(
                    f"`python -m ingest load`: CSV files `{table.files}` -> "
                    f"MySQL `{item.source_database}.{item.table}`."
                ),
                customProperties=_props(first, ("run_id", "load_mode", "finished_at"))
                | {
                    "files": str(len(record.files)),
                    "rows_loaded": str(sum(int(f["rows_loaded"] or 0) for f in record.files)),
                    "rows_rejected": str(sum(int(f["rows_rejected"] or 0) for f in record.files)),
                },
            ),
        )
        yield MetadataChangeProposalWrapper(
            entityUrn=load_urn,
            aspect=DataJobInputOutputClass(inputDatasets=csv_urns, outputDatasets=[mysql_urn]),
        )
        extract_urn = mce_builder.make_data_job_urn_with_flow(flow_urn, f"extract.{item.table}")
        yield MetadataChangeProposalWrapper(
            entityUrn=extract_urn,
            aspect=DataJobInfoClass(
                name=f"extract {item.table}",
                type="COMMAND",
                flowUrn=flow_urn,
                description=(
                    f"`python -m ingest extract`: MySQL `{item.source_database}.{item.table}` -> the lake's raw zone."
                ),
                customProperties=_props(
                    record.extract,
                    (
                        "run_id",
                        "batch_id",
                        "mode",
                        "reader",
                        "watermark_column",
                        "watermark_high",
                        "rows_written",
                        "finished_at",
                    ),
                ),
            ),
        )
        yield MetadataChangeProposalWrapper(
            entityUrn=extract_urn,
            aspect=DataJobInputOutputClass(
                inputDatasets=[mysql_urn], outputDatasets=[item.urn], inputDatajobs=[load_urn]
            ),
        )
