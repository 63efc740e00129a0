"""Publishing a load run: every table it staged changes in one `RENAME TABLE`, or none does.

A run builds each target as a new table first (`_lh_r<run>_<n>`): a `replace` table from its
files alone, an `upsert` table from the current contents with the files' rows merged in. All DDL
happens then, before publishing. Publishing is a single statement that renames every current
table aside and every new table into its place; MySQL runs it atomically. What a crash leaves:

| the process stops ...                 | the tables hold         | the next run (after taking the lock)    |
|---------------------------------------|-------------------------|-----------------------------------------|
| while staging (`staging`, `staged`)   | their previous contents | drops the run's tables: `interrupted`   |
| after `publishing`, before the RENAME | their previous contents | finds its new tables: drops them too    |
| after the RENAME                      | the run's contents, all | finds them gone: `succeeded`, drops old |

The loader creates, and later drops, only tables recorded in the audit table `load_objects`
(before they are created); contract table names may not start with the reserved prefix `_lh_`.
"""

from __future__ import annotations

from pymysql.connections import Connection

from ingest.core import failpoints
from ingest.core.errors import DataError
from ingest.core.mysql import quote_identifier, scalar
from ingest.load import audit

PREFIX = "_lh_"  # reserved: contract tables may not start with it


class PublishError(DataError):
    """The run cannot be published; nothing changed."""


def object_name(run_id: str, index: int, role: str) -> str:
    """A table of the run: `_lh_<role letter><run 12>_<index>`, short enough for any table name."""
    return f"{PREFIX}{role[0]}{run_id[:12]}_{index}"


def table_exists(conn: Connection, database: str, name: str) -> bool:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        return bool(
            scalar(
                cursor,
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                (database, name),
            )
        )


def drop_object(conn: Connection, database: str, name: str) -> None:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(database)}.{quote_identifier(name)}")
    audit.forget_object(conn, database, name)


def recover(conn: Connection, database: str, current_run: str) -> list[str]:  # type: ignore[type-arg]
    """Settle the runs a killed process left behind. Call only while holding the database's lock.

    Returns a line per run settled. The current run's own tables (staged by an earlier task of the
    same run, as the Airflow DAG does) are left alone.
    """
    notes = []
    for run_id, status in audit.unfinished_runs(conn, database):
        if run_id == current_run:
            continue
        objects = audit.run_objects(conn, run_id, database)
        ready = [name for name, _table, role, _base in objects if role == "ready"]
        published = status == "publishing" and not any(table_exists(conn, database, n) for n in ready)
        if published:
            audit.set_run(conn, run_id, database, "succeeded", "published; the process stopped before recording it")
        elif status in ("failed", "succeeded"):
            pass  # already settled; only its tables remain to remove (old tables after a publish)
        else:
            audit.set_run(
                conn, run_id, database, "interrupted", "the run stopped (or was superseded) before publishing"
            )
        for name, _table, _role, _base in objects:
            drop_object(conn, database, name)
        notes.append(
            f"run {run_id[:12]}: {'published' if published else 'interrupted'}, {len(objects)} table(s) removed"
        )
    return notes


def checkpoint(step: str) -> None:
    """A named step of a load (see `ingest.core.failpoints`): staged, before-rename, after-rename."""
    failpoints.checkpoint("LAKEHOUSE_LOAD_STOP_AT", step)


def publish(conn: Connection, database: str, run_id: str) -> list[str]:  # type: ignore[type-arg]
    """Swap every table the run made ready into place at once; returns the tables published."""
    objects = audit.run_objects(conn, run_id, database)
    ready = [(name, table, base) for name, table, role, base in objects if role == "ready"]
    if audit.run_status(conn, run_id, database) not in ("staged", "staging"):
        raise PublishError(f"load run {run_id[:12]} of database {database} has nothing staged to publish")
    for name, table, base in ready:
        if not table_exists(conn, database, name):
            raise PublishError(
                f"table {table} staged by run {run_id[:12]} is gone (a newer load superseded it); "
                "nothing was published: run the load again"
            )
        if base is not None and audit.last_published_run(conn, database, table) != (base or None):
            raise PublishError(
                f"table {table} changed since run {run_id[:12]} merged its rows into a copy of it; "
                "nothing was published: run the load again"
            )
    renames, old = [], []
    for index, (name, table, _base) in enumerate(ready):
        if table_exists(conn, database, table):
            aside = object_name(run_id, index, "old")
            audit.record_object(conn, run_id, database, table, aside, "old")
            renames.append(f"{quote_identifier(table)} TO {quote_identifier(aside)}")
            old.append(aside)
        renames.append(f"{quote_identifier(name)} TO {quote_identifier(table)}")
    audit.set_run(conn, run_id, database, "publishing")
    checkpoint("before-rename")
    if renames:
        with conn.cursor() as cursor:
            cursor.execute("RENAME TABLE " + ", ".join(renames))  # the one atomic step
    checkpoint("after-rename")
    for name, _table, _base in ready:
        audit.forget_object(conn, database, name)
    audit.set_run(conn, run_id, database, "succeeded")
    for aside in old:
        drop_object(conn, database, aside)
    return [table for _name, table, _base in ready]
