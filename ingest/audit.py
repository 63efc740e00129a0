"""The audit table: one row per file load, the record of what reached MySQL and when."""

from __future__ import annotations

from pymysql.connections import Connection

from ingest.mysql import quote_identifier
from ingest.settings import audit_database

FILE_LOADS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.file_loads (
  load_id       BIGINT AUTO_INCREMENT PRIMARY KEY,
  run_id        CHAR(32)      NOT NULL COMMENT 'one load command; its files are published together',
  dataset       VARCHAR(64)   NOT NULL,
  database_name VARCHAR(64)   NOT NULL,
  table_name    VARCHAR(64)   NOT NULL,
  file_path     VARCHAR(1024) NOT NULL,
  file_size     BIGINT        NOT NULL,
  file_sha256   CHAR(64)      NOT NULL,
  load_mode     VARCHAR(16)   NOT NULL COMMENT 'replace or upsert',
  rows_read     BIGINT        NULL,
  rows_loaded   BIGINT        NULL,
  rows_rejected BIGINT        NULL,
  quarantine_path VARCHAR(1024) NULL,
  started_at    DATETIME(6)   NOT NULL,
  finished_at   DATETIME(6)   NULL,
  status        VARCHAR(16)   NOT NULL COMMENT 'running, staged, succeeded, skipped, failed, interrupted',
  message       TEXT          NULL,
  KEY by_table (database_name, table_name, status),
  KEY by_checksum (database_name, table_name, file_sha256)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


def audit_table() -> str:
    return f"{quote_identifier(audit_database())}.file_loads"


def ensure_audit(conn: Connection) -> None:  # type: ignore[type-arg]
    db = quote_identifier(audit_database())
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {db} CHARACTER SET utf8mb4")
        cursor.execute(FILE_LOADS_DDL.format(db=db))


def mark_interrupted(conn: Connection, database: str) -> int:  # type: ignore[type-arg]
    """Loads left running by a killed process. Only called while holding the dataset's lock."""
    with conn.cursor() as cursor:
        return cursor.execute(
            f"UPDATE {audit_table()} SET status = 'interrupted', finished_at = UTC_TIMESTAMP(6), "
            "message = 'the loading process stopped before finishing; nothing of it was published' "
            "WHERE database_name = %s AND status IN ('running', 'staged')",
            (database,),
        )


def start_file(
    conn: Connection,  # type: ignore[type-arg]
    *,
    run_id: str,
    dataset: str,
    database: str,
    table: str,
    path: str,
    size: int,
    sha256: str,
    mode: str,
    status: str = "running",
) -> int:
    with conn.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {audit_table()} (run_id, dataset, database_name, table_name, file_path, file_size, "
            "file_sha256, load_mode, started_at, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(6), %s)",
            (run_id, dataset, database, table, path, size, sha256, mode, status),
        )
        return int(cursor.lastrowid)


def finish_file(
    conn: Connection,  # type: ignore[type-arg]
    load_id: int,
    *,
    status: str,
    rows_read: int | None = None,
    rows_loaded: int | None = None,
    rows_rejected: int | None = None,
    quarantine_path: str | None = None,
    message: str | None = None,
) -> None:
    with conn.cursor() as cursor:
        cursor.execute(
            f"UPDATE {audit_table()} SET status = %s, rows_read = %s, rows_loaded = %s, rows_rejected = %s, "
            "quarantine_path = %s, message = %s, finished_at = UTC_TIMESTAMP(6) WHERE load_id = %s",
            (status, rows_read, rows_loaded, rows_rejected, quarantine_path, message, load_id),
        )


def set_run_status(conn: Connection, run_id: str, old: str, new: str, message: str | None = None) -> None:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(
            f"UPDATE {audit_table()} SET status = %s, message = COALESCE(%s, message), "
            "finished_at = UTC_TIMESTAMP(6) WHERE run_id = %s AND status = %s",
            (new, message, run_id, old),
        )


def published_checksums(conn: Connection, database: str, table: str) -> set[str]:  # type: ignore[type-arg]
    """Checksums of the files behind the table's current contents (its last successful load)."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT run_id FROM {audit_table()} WHERE database_name = %s AND table_name = %s "
            "AND status = 'succeeded' ORDER BY finished_at DESC, load_id DESC LIMIT 1",
            (database, table),
        )
        row = cursor.fetchone()
        if row is None:
            return set()
        cursor.execute(
            f"SELECT file_sha256 FROM {audit_table()} WHERE run_id = %s AND database_name = %s "
            "AND table_name = %s AND status = 'succeeded'",
            (row[0], database, table),
        )
        return {r[0] for r in cursor.fetchall()}


def ever_loaded_checksums(conn: Connection, database: str, table: str) -> set[str]:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT file_sha256 FROM {audit_table()} WHERE database_name = %s AND table_name = %s "
            "AND status = 'succeeded'",
            (database, table),
        )
        return {r[0] for r in cursor.fetchall()}
