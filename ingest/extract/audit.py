"""The `extracts` audit table: one row per table per extract run, beside the loader's `file_loads`.

It records what left MySQL for the lake: the batch, the watermark range, MySQL's count and the
rows written (they must be equal for a batch to commit), and how the run ended. The lake's
manifests stay the source of truth for watermarks; this table is the history a person queries.
"""

from __future__ import annotations

import hashlib

from pymysql.connections import Connection

from ingest.core.mysql import quote_identifier
from ingest.core.settings import audit_database

EXTRACTS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.extracts (
  extract_id       BIGINT AUTO_INCREMENT PRIMARY KEY,
  run_id           CHAR(32)      NOT NULL COMMENT 'one extract command',
  dataset          VARCHAR(64)   NOT NULL,
  database_name    VARCHAR(64)   NOT NULL,
  table_name       VARCHAR(64)   NOT NULL,
  lake_uri         VARCHAR(1024) NOT NULL,
  lake_id          CHAR(40)      NOT NULL COMMENT 'sha1 of lake_uri, for the index',
  batch_id         VARCHAR(64)   NULL,
  mode             VARCHAR(16)   NOT NULL COMMENT 'full or incremental',
  reader           VARCHAR(16)   NULL,
  watermark_column VARCHAR(64)   NULL,
  watermark_low    VARCHAR(255)  NULL COMMENT 'exclusive; NULL = from the start',
  watermark_high   VARCHAR(255)  NULL COMMENT 'inclusive',
  source_rows      BIGINT        NULL COMMENT 'COUNT(*) in MySQL over the same range',
  rows_written     BIGINT        NULL,
  bytes_written    BIGINT        NULL,
  files            INT           NULL,
  started_at       DATETIME(6)   NOT NULL,
  finished_at      DATETIME(6)   NULL,
  status           VARCHAR(16)   NOT NULL COMMENT 'running, committed, unchanged, failed, interrupted',
  message          TEXT          NULL,
  KEY by_table (lake_id, dataset, table_name, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


def extracts_table() -> str:
    return f"{quote_identifier(audit_database())}.extracts"


def lake_id(lake_uri: str) -> str:
    return hashlib.sha1(lake_uri.encode()).hexdigest()


def ensure_extracts(conn: Connection) -> None:  # type: ignore[type-arg]
    db = quote_identifier(audit_database())
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {db} CHARACTER SET utf8mb4")
        cursor.execute(EXTRACTS_DDL.format(db=db))


def mark_interrupted(conn: Connection, lake_uri: str, dataset: str, table: str) -> int:  # type: ignore[type-arg]
    """Extracts left running by a killed process. Only called while holding the table's extract lock."""
    with conn.cursor() as cursor:
        return cursor.execute(
            f"UPDATE {extracts_table()} SET status = 'interrupted', finished_at = UTC_TIMESTAMP(6), "
            "message = 'the extract stopped before committing; its batch was never visible and was removed' "
            "WHERE lake_id = %s AND dataset = %s AND table_name = %s AND status = 'running'",
            (lake_id(lake_uri), dataset, table),
        )


def start(
    conn: Connection,  # type: ignore[type-arg]
    *,
    run_id: str,
    dataset: str,
    database: str,
    table: str,
    lake_uri: str,
    batch_id: str | None,
    mode: str,
    reader: str | None,
    watermark: tuple[str | None, str | None, str | None],
    status: str = "running",
) -> int:
    column, low, high = watermark
    with conn.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {extracts_table()} (run_id, dataset, database_name, table_name, lake_uri, lake_id, "
            "batch_id, mode, reader, watermark_column, watermark_low, watermark_high, source_rows, started_at, "
            "status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(6), %s)",
            (
                run_id,
                dataset,
                database,
                table,
                lake_uri,
                lake_id(lake_uri),
                batch_id,
                mode,
                reader,
                column,
                low,
                high,
                0 if status == "unchanged" else None,
                status,
            ),
        )
        return int(cursor.lastrowid)


def finish(
    conn: Connection,  # type: ignore[type-arg]
    extract_id: int,
    *,
    status: str,
    source_rows: int | None = None,
    rows_written: int | None = None,
    bytes_written: int | None = None,
    files: int | None = None,
    message: str | None = None,
) -> None:
    with conn.cursor() as cursor:
        cursor.execute(
            f"UPDATE {extracts_table()} SET status = %s, source_rows = COALESCE(%s, source_rows), "
            "rows_written = %s, bytes_written = %s, files = %s, message = %s, finished_at = UTC_TIMESTAMP(6) "
            "WHERE extract_id = %s",
            (status, source_rows, rows_written, bytes_written, files, message, extract_id),
        )
