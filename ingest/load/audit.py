"""The audit tables: one row per file load (`file_loads`), one per load run (`load_runs`), and
every table a run creates (`load_objects`), so that a later run removes only the loader's own
leftovers and can tell whether a killed run had published; the contract each table was loaded
under (`table_contracts`) and every change a load applied to a stored table (`schema_changes`)."""

from __future__ import annotations

from pymysql.connections import Connection
from pymysql.cursors import DictCursor

from ingest.core.mysql import quote_identifier
from ingest.core.settings import audit_database
from ingest.load.schema_change import Change

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


LOAD_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.load_runs (
  run_id        CHAR(32)     NOT NULL,
  database_name VARCHAR(64)  NOT NULL,
  status        VARCHAR(16)  NOT NULL COMMENT 'staging, staged, publishing, succeeded, failed, interrupted',
  started_at    DATETIME(6)  NOT NULL,
  finished_at   DATETIME(6)  NULL,
  message       TEXT         NULL,
  PRIMARY KEY (run_id, database_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""

LOAD_OBJECTS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.load_objects (
  database_name VARCHAR(64)  NOT NULL,
  object_name   VARCHAR(64)  NOT NULL COMMENT 'a table the loader created in database_name',
  run_id        CHAR(32)     NOT NULL,
  table_name    VARCHAR(64)  NOT NULL COMMENT 'the contract table it stands for',
  role          VARCHAR(8)   NOT NULL COMMENT 'work (being built), ready (to publish), old (replaced)',
  base_run      CHAR(32)     NULL COMMENT 'for an upsert: the run whose contents it was built on',
  PRIMARY KEY (database_name, object_name),
  KEY by_run (run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


TABLE_CONTRACTS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.table_contracts (
  database_name   VARCHAR(64) NOT NULL,
  table_name      VARCHAR(64) NOT NULL,
  run_id          CHAR(32)    NOT NULL,
  contract_sha256 CHAR(64)    NOT NULL COMMENT 'the contract table (columns, types, dialect, key) the run loaded with',
  PRIMARY KEY (database_name, table_name, run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


SCHEMA_CHANGES_DDL = """
CREATE TABLE IF NOT EXISTS {db}.schema_changes (
  change_id       BIGINT AUTO_INCREMENT PRIMARY KEY,
  run_id          CHAR(32)     NOT NULL COMMENT 'the load run that applied it (published with it, or not at all)',
  database_name   VARCHAR(64)  NOT NULL,
  table_name      VARCHAR(64)  NOT NULL,
  kind            VARCHAR(16)  NOT NULL COMMENT 'see ingest.load.schema_change.Change',
  column_name     VARCHAR(64)  NULL,
  source_column   VARCHAR(64)  NULL COMMENT 'the stored column it took its values from',
  old_definition  VARCHAR(255) NULL,
  new_definition  VARCHAR(255) NULL,
  lossy           BOOLEAN      NOT NULL COMMENT 'applied only because --allow-lossy said so',
  values_affected BIGINT       NULL COMMENT 'stored values a lossy change altered or dropped',
  description     TEXT         NOT NULL,
  recorded_at     DATETIME(6)  NOT NULL,
  KEY by_table (database_name, table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


def audit_table() -> str:
    return f"{quote_identifier(audit_database())}.file_loads"


def ensure_audit(conn: Connection) -> None:  # type: ignore[type-arg]
    db = quote_identifier(audit_database())
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {db} CHARACTER SET utf8mb4")
        cursor.execute(FILE_LOADS_DDL.format(db=db))
        cursor.execute(LOAD_RUNS_DDL.format(db=db))
        cursor.execute(LOAD_OBJECTS_DDL.format(db=db))
        cursor.execute(TABLE_CONTRACTS_DDL.format(db=db))
        cursor.execute(SCHEMA_CHANGES_DDL.format(db=db))


def _table(name: str) -> str:
    return f"{quote_identifier(audit_database())}.{name}"


def start_run(conn: Connection, run_id: str, database: str) -> None:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table('load_runs')} (run_id, database_name, status, started_at) "
            "VALUES (%s, %s, 'staging', UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE status = 'staging'",
            (run_id, database),
        )


def run_status(conn: Connection, run_id: str, database: str) -> str | None:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT status FROM {_table('load_runs')} WHERE run_id = %s AND database_name = %s", (run_id, database)
        )
        row = cursor.fetchone()
        return str(row[0]) if row else None


def set_run(conn: Connection, run_id: str, database: str, status: str, message: str | None = None) -> None:  # type: ignore[type-arg]
    """The run's status, and that of its file loads (which share it from `staged` on)."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table('load_runs')} SET status = %s, message = COALESCE(%s, message), "
            "finished_at = UTC_TIMESTAMP(6) WHERE run_id = %s AND database_name = %s",
            (status, message, run_id, database),
        )
        if status in ("succeeded", "failed", "interrupted"):
            cursor.execute(
                f"UPDATE {audit_table()} SET status = %s, message = COALESCE(%s, message), "
                "finished_at = UTC_TIMESTAMP(6) WHERE run_id = %s AND database_name = %s "
                "AND status IN ('running', 'staged')",
                (status, message, run_id, database),
            )


def unfinished_runs(conn: Connection, database: str) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    """(run_id, status) of runs that did not finish, or left tables behind (a failed staging task's
    sibling tables, say)."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT run_id, status FROM {_table('load_runs')} WHERE database_name = %s "
            f"AND (status IN ('staging', 'staged', 'publishing') OR run_id IN "
            f"(SELECT run_id FROM {_table('load_objects')} WHERE database_name = %s))",
            (database, database),
        )
        return [(str(r[0]), str(r[1])) for r in cursor.fetchall()]


def record_object(
    conn: Connection,  # type: ignore[type-arg]
    run_id: str,
    database: str,
    table: str,
    name: str,
    role: str,
    base_run: str | None = None,
) -> None:
    """Recorded before the table is created, so a crash right after leaves nothing unaccounted."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"REPLACE INTO {_table('load_objects')} (database_name, object_name, run_id, table_name, role, base_run) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (database, name, run_id, table, role, base_run),
        )


def run_objects(conn: Connection, run_id: str, database: str) -> list[tuple[str, str, str, str | None]]:  # type: ignore[type-arg]
    """(object_name, table_name, role, base_run) of everything a run created."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT object_name, table_name, role, base_run FROM {_table('load_objects')} "
            "WHERE run_id = %s AND database_name = %s ORDER BY object_name",
            (run_id, database),
        )
        return [(str(a), str(b), str(c), None if d is None else str(d)) for a, b, c, d in cursor.fetchall()]


def forget_object(conn: Connection, database: str, name: str) -> None:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_table('load_objects')} WHERE database_name = %s AND object_name = %s", (database, name)
        )


def last_published_run(conn: Connection, database: str, table: str) -> str | None:  # type: ignore[type-arg]
    """The run whose publish made the table's current contents."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT run_id FROM {audit_table()} WHERE database_name = %s AND table_name = %s "
            "AND status = 'succeeded' ORDER BY finished_at DESC, load_id DESC LIMIT 1",
            (database, table),
        )
        row = cursor.fetchone()
        return str(row[0]) if row else None


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


def record_contract(conn: Connection, run_id: str, database: str, table: str, sha256: str) -> None:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(
            f"REPLACE INTO {_table('table_contracts')} (database_name, table_name, run_id, contract_sha256) "
            "VALUES (%s, %s, %s, %s)",
            (database, table, run_id, sha256),
        )


def published_contract(conn: Connection, database: str, table: str) -> str | None:  # type: ignore[type-arg]
    """The contract fingerprint the table's current contents were loaded with."""
    run = last_published_run(conn, database, table)
    if run is None:
        return None
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT contract_sha256 FROM {_table('table_contracts')} WHERE database_name = %s "
            "AND table_name = %s AND run_id = %s",
            (database, table, run),
        )
        row = cursor.fetchone()
        return str(row[0]) if row else None


def fail_file(conn: Connection, load_id: int, message: str) -> None:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(
            f"UPDATE {audit_table()} SET status = 'failed', message = %s, finished_at = UTC_TIMESTAMP(6) "
            "WHERE load_id = %s AND status IN ('running', 'staged')",
            (message, load_id),
        )


def published_checksums(conn: Connection, database: str, table: str) -> list[str]:  # type: ignore[type-arg]
    """Checksums of the files behind the table's current contents (its last successful load),
    one per file: two identical files count twice."""
    run = last_published_run(conn, database, table)
    if run is None:
        return []
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT file_sha256 FROM {audit_table()} WHERE run_id = %s AND database_name = %s "
            "AND table_name = %s AND status = 'succeeded'",
            (run, database, table),
        )
        return sorted(r[0] for r in cursor.fetchall())


def ever_loaded_checksums(conn: Connection, database: str, table: str) -> set[str]:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT file_sha256 FROM {audit_table()} WHERE database_name = %s AND table_name = %s "
            "AND status = 'succeeded'",
            (database, table),
        )
        return {r[0] for r in cursor.fetchall()}


def record_schema_change(
    conn: Connection,  # type: ignore[type-arg]
    run_id: str,
    database: str,
    change: Change,
    values_affected: int | None,
) -> None:
    with conn.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table('schema_changes')} (run_id, database_name, table_name, kind, column_name, "
            "source_column, old_definition, new_definition, lossy, values_affected, description, recorded_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(6))",
            (run_id, database, change.table, change.kind, change.column, change.source, change.old, change.new,
             change.lossy, values_affected, change.describe()),
        )  # fmt: skip


def schema_changes(conn: Connection, database: str, table: str) -> list[dict[str, object]]:  # type: ignore[type-arg]
    """The changes published loads applied to a table, oldest first."""
    with conn.cursor(DictCursor) as cursor:
        cursor.execute(
            f"SELECT c.kind, c.column_name, c.source_column, c.old_definition, c.new_definition, c.lossy, "
            f"c.values_affected, c.description FROM {_table('schema_changes')} AS c "
            f"JOIN {_table('load_runs')} AS r ON r.run_id = c.run_id AND r.database_name = c.database_name "
            "WHERE c.database_name = %s AND c.table_name = %s AND r.status = 'succeeded' ORDER BY c.change_id",
            (database, table),
        )
        return list(cursor.fetchall())
