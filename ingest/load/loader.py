"""CSV files -> MySQL tables, losing nothing, changing nothing until everything is ready.

One load run: take the database's lock, settle what killed runs left (ingest.load.publish),
stage every table of the contract as a new table (each file streamed through the strict scan and
the contract's checks, ingest.load.stream), reconcile MySQL's counts against the loader's own,
then publish every table in one atomic RENAME. The Airflow DAG splits the same run in two: one
staging task per table, then one publish.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pymysql
from rich.progress import Progress, TaskID

from ingest.core.contract import Contract, Table
from ingest.core.errors import DataError, TransientError
from ingest.core.mysql import LoadingConnection, connect, create_table_sql, exact_collation, quote_identifier, scalar
from ingest.core.settings import MySQLSettings, audit_database, quarantine_dir
from ingest.load import audit
from ingest.load.files import FileError, FileInfo, inspect_file
from ingest.load.keys import KeyIndex
from ingest.load.mysql_load import Outcome, load_statement, run_load
from ingest.load.publish import PublishError, checkpoint, drop_object, object_name, publish, recover, table_exists
from ingest.load.quarantine import QuarantineFile
from ingest.load.schema_change import (
    Change,
    LossyChange,
    StoredTable,
    compare,
    refuse_lossy,
    source_expression,
    stored_table,
)
from ingest.load.stream import FileStream, StreamError, TooManyBadRows

MAX_PASSES = 3  # a file is streamed again only if MySQL named rows to leave out (never seen so far)


class LoadError(DataError):
    """A load that cannot finish; the target tables keep their previous contents."""


class LoadLocked(TransientError):
    """Another load holds the database's lock; nothing was touched. Retried."""


@dataclass
class FileReport:
    table: str
    path: Path
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    quarantine: Path | None = None
    skipped: bool = False


@dataclass
class TableReport:
    name: str
    mode: str
    files: list[FileReport] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)  # what the contract changed in the stored table
    rows_kept: int = 0  # replace: stored rows kept since their key's new version may be a quarantined row

    @property
    def skipped(self) -> bool:
        return bool(self.files) and all(f.skipped for f in self.files)

    def total(self, attribute: str) -> int:
        return sum(getattr(f, attribute) for f in self.files if not f.skipped)

    @property
    def seconds(self) -> float:
        return sum(f.seconds for f in self.files)


@dataclass
class LoadOptions:
    database: str | None = None
    max_bad_rows: int = 0
    force: bool = False
    tables: list[str] | None = None
    lock_timeout: int = 0
    quarantine_root: Path | None = None
    run_id: str | None = None  # a run shared by several stage calls (the Airflow DAG's run)
    publish: bool = True  # False: stage only; `publish_run` publishes later
    allow_lossy: list[str] = field(default_factory=list)  # TABLE or TABLE.COLUMN (ingest.load.schema_change)


def run_key(name: str) -> str:
    """The 32-hex-digit run id for an outside run name (an Airflow run id, say)."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def contract_fingerprint(table: Table) -> str:
    """What the table's contents depend on besides its files: columns, types, dialect, key, mode."""
    ignored: Any = {"description": True, "cursor": True, "columns": {"__all__": {"description"}}}
    return hashlib.sha256(table.model_dump_json(exclude=ignored).encode()).hexdigest()


def resolve_files(table: Table, source: Path) -> list[Path]:
    files = sorted(p for p in source.glob(table.files) if p.is_file())
    if not files:
        raise LoadError(f"table {table.name}: no file in {source} matches {table.files!r}")
    return files


class DatasetLoader:
    """One load command: lock, settle leftovers, stage the tables, publish them together."""

    def __init__(
        self, contract: Contract, source: Path, settings: MySQLSettings, options: LoadOptions, progress: Progress | None
    ) -> None:
        self.contract = contract
        self.source = source
        self.options = options
        self.progress = progress
        self.database = options.database or contract.dataset
        quote_identifier(self.database)
        self.run_id = run_key(options.run_id) if options.run_id else uuid.uuid4().hex
        self.conn: LoadingConnection = connect(settings, local_infile=True)
        self.collation = exact_collation(self.conn)
        self.quarantine_root = (options.quarantine_root or quarantine_dir()) / self.database
        self.created: list[str] = []  # tables this process created, dropped again if it fails
        self.file_loads: list[int] = []  # audit rows of the files this process loads
        self.keys: KeyIndex | None = None  # the keys sent so far for the table being staged
        self.stored: dict[str, StoredTable | None] = {}  # the published tables' definitions
        self.changes: dict[str, list[Change]] = {}
        self.earlier_files: list[tuple[int, np.ndarray]] = []

    # -- the whole run -------------------------------------------------------------------
    def run(self) -> list[TableReport]:
        tables = self._selected_tables()
        try:
            self._prepare()
            _lock(self.conn, self.database, self.options.lock_timeout)
            recover(self.conn, self.database, self.run_id)
            self._compare_contracts(tables)  # refuses before anything is written
            audit.start_run(self.conn, self.run_id, self.database)
            plans = [(table, [inspect_file(p, table) for p in resolve_files(table, self.source)]) for table in tables]
            reports = [self._stage_table(table, infos) for table, infos in plans]
            audit.set_run(self.conn, self.run_id, self.database, "staged")
            checkpoint("staged")
            if self.options.publish:
                publish(self.conn, self.database, self.run_id)
            return reports
        except BaseException as exc:
            self._abandon(exc)
            if isinstance(exc, FileError | PublishError):
                raise LoadError(str(exc)) from exc
            raise
        finally:
            self.conn.close()  # also releases the lock

    def _selected_tables(self) -> list[Table]:
        if not self.options.tables:
            return list(self.contract.tables)
        return [self.contract.table(name) for name in self.options.tables]

    def _prepare(self) -> None:
        if self.database == audit_database():
            raise LoadError(f"database {self.database} is the audit database (LAKEHOUSE_AUDIT_DB): load into another")
        audit.ensure_audit(self.conn)
        with self.conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.database)} CHARACTER SET utf8mb4")
            cursor.execute(f"USE {quote_identifier(self.database)}")
            cursor.execute("SET SESSION max_error_count = 65535")

    def _compare_contracts(self, tables: list[Table]) -> None:
        """Classify how each contract table differs from the stored one; refuse a lossy change
        that `--allow-lossy` does not name (ingest.load.schema_change)."""
        allowed = set(self.options.allow_lossy)
        for table in tables:
            stored = stored_table(self.conn, self.database, table.name)
            self.stored[table.name] = stored
            self.changes[table.name] = compare(stored, table) if stored is not None else []
        refuse_lossy([c for table in tables for c in self.changes[table.name]], allowed)

    def _abandon(self, exc: BaseException) -> None:
        if isinstance(exc, LoadLocked | LossyChange):
            return  # it touched nothing, and must not
        message = f"{type(exc).__name__}: {exc}"[:4000]
        try:
            self.conn.rollback()
            for name in self.created:
                drop_object(self.conn, self.database, name)
            for load_id in self.file_loads:  # this call's files only: a sibling stage task's stay staged
                audit.fail_file(self.conn, load_id, message)
            if self.options.publish and audit.run_status(self.conn, self.run_id, self.database) in (
                "staging",
                "staged",
            ):
                audit.set_run(self.conn, self.run_id, self.database, "failed", message)
        except pymysql.err.MySQLError:
            pass  # the connection itself may be what failed; the next run settles it

    # -- one table -----------------------------------------------------------------------
    def _stage_table(self, table: Table, infos: list[FileInfo]) -> TableReport:
        report = TableReport(table.name, table.mode, changes=self.changes.get(table.name, []))
        todo = self._files_to_load(table, infos)
        for info in infos:
            if info not in todo:
                report.files.append(FileReport(table.name, info.path, skipped=True))
                self._audit_start(table, info, status="skipped")
        if not todo:
            return report
        index = self.contract.tables.index(table)
        audit.record_contract(self.conn, self.run_id, self.database, table.name, contract_fingerprint(table))
        work = self._create(table, object_name(self.run_id, index, "work"), "work")
        self.keys = KeyIndex() if table.primary_key else None
        self.earlier_files = []
        for file_index, info in enumerate(todo):
            report.files.append(self._stage_file(table, work, info, file_index))
        if table.mode == "replace":
            if report.total("rows_rejected") and table.primary_key:
                report.rows_kept = self._keep_absent_keys(table, work)
            self._record_changes(table, work)
            audit.record_object(self.conn, self.run_id, self.database, table.name, work, "ready")
        else:
            self._merge(table, index, work)
        return report

    def _carried_columns(self, table: Table) -> tuple[str, str]:
        """(target list, select list): the contract's columns and the stored columns they take
        their values from (renames followed); a new column is left to its default, NULL."""
        stored = self.stored.get(table.name)
        pairs = [(c, source_expression(c, stored, table)) for c in table.columns]
        carried = [(quote_identifier(c.name), source) for c, source in pairs if source is not None]
        return ", ".join(t for t, _ in carried), ", ".join(s for _, s in carried)

    def _keep_absent_keys(self, table: Table, work: str) -> int:
        """A replace table that quarantined rows keeps the stored version of every key its files
        lack: a rejected row may be any of them, and a key must not vanish (from MySQL, nor as a
        tombstone from the lake) because its new version was bad. The next clean load removes the
        keys really deleted."""
        if not table_exists(self.conn, self.database, table.name):
            return 0
        stored = self.stored.get(table.name)
        sources = {c.name: source_expression(c, stored, table) for c in table.columns}
        if any(sources[k] is None for k in table.primary_key):
            raise LoadError(
                f"table {table.name}: rows were quarantined and the primary key has a new column, so the "
                "stored versions of their keys cannot be kept; fix the rows, then load again"
            )
        targets, selected = self._carried_columns(table)
        match = " AND ".join(f"w.{quote_identifier(k)} = s.{sources[k]}" for k in table.primary_key)
        with self.conn.cursor() as cursor:
            try:
                kept = cursor.execute(
                    f"INSERT INTO {quote_identifier(work)} ({targets}) SELECT {selected} FROM "
                    f"{quote_identifier(table.name)} AS s WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {quote_identifier(work)} AS w WHERE {match})"
                )
            except pymysql.err.MySQLError as exc:
                message = f"table {table.name}: its stored rows do not fit the contract ({exc.args[-1]})"
                raise LoadError(message) from exc
        return int(kept)

    def _record_changes(self, table: Table, built: str) -> None:
        """Each change in the audit, with how many stored values a lossy one altered or dropped."""
        for change in self.changes.get(table.name, []):
            affected = self._values_affected(table, built, change) if change.lossy else None
            audit.record_schema_change(self.conn, self.run_id, self.database, change, affected)

    def _values_affected(self, table: Table, built: str, change: Change) -> int | None:
        stored = quote_identifier(table.name)
        with self.conn.cursor() as cursor:
            if change.kind == "dropped" and change.source:
                return int(scalar(cursor, f"SELECT COUNT({quote_identifier(change.source)}) FROM {stored}"))
            if change.kind != "narrowed" or table.mode != "upsert" or not change.source or not change.column:
                return None  # a replace table's values all come from its files, checked against the new types
            sources = {c.name: source_expression(c, self.stored.get(table.name), table) for c in table.columns}
            if any(sources[k] is None for k in table.primary_key):
                return None
            match = " AND ".join(f"b.{quote_identifier(k)} = s.{sources[k]}" for k in table.primary_key)
            column, source = quote_identifier(change.column), quote_identifier(change.source)
            return int(
                scalar(
                    cursor,
                    f"SELECT COUNT(*) FROM {quote_identifier(built)} AS b JOIN {stored} AS s ON {match} "
                    f"WHERE NOT (b.{column} <=> s.{source})",
                )
            )

    def _create(self, table: Table, name: str, role: str, *, base: str | None = None) -> str:
        audit.record_object(self.conn, self.run_id, self.database, table.name, name, role, base)
        self.created.append(name)
        sql = create_table_sql(table, name, collation=self.collation)
        with self.conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(name)}")
            cursor.execute(sql)
        return name

    def _merge(self, table: Table, index: int, work: str) -> None:
        """An upsert's new table: the current contents with the files' rows merged in by key."""
        base = audit.last_published_run(self.conn, self.database, table.name) or ""
        ready = self._create(table, object_name(self.run_id, index, "ready"), "ready", base=base)
        columns = ", ".join(quote_identifier(c.name) for c in table.columns)
        updates = [f"{c} = VALUES({c})" for c in columns.split(", ") if c.strip("`") not in table.primary_key]
        updates = updates or [f"{columns.split(', ')[0]} = {columns.split(', ')[0]}"]
        with self.conn.cursor() as cursor:
            if table_exists(self.conn, self.database, table.name):
                # The stored history under the contract's definition: renamed columns carried
                # over, new ones NULL, lossy changes applied only when allowed (compared before).
                targets, selected = self._carried_columns(table)
                try:
                    current = quote_identifier(table.name)
                    into = f"INSERT INTO {quote_identifier(ready)} ({targets})"
                    cursor.execute(f"{into} SELECT {selected} FROM {current}")
                except pymysql.err.MySQLError as exc:
                    raise LoadError(
                        f"table {table.name}: its stored rows do not fit the contract ({exc.args[-1]}); nothing "
                        "was changed. Fix the contract, or the stored rows, then load again"
                    ) from exc
                self._record_changes(table, ready)
            cursor.execute(
                f"INSERT INTO {quote_identifier(ready)} ({columns}) SELECT {columns} FROM {quote_identifier(work)} "
                f"ON DUPLICATE KEY UPDATE {', '.join(updates)}"
            )
        drop_object(self.conn, self.database, work)
        self.created.remove(work)

    def _files_to_load(self, table: Table, infos: list[FileInfo]) -> list[FileInfo]:
        fingerprint = contract_fingerprint(table)
        if (
            self.options.force
            or not table_exists(self.conn, self.database, table.name)
            or audit.published_contract(self.conn, self.database, table.name) != fingerprint
        ):
            return infos  # new, forced, or loaded under other rules (types, tokens, key): all of it again
        if table.mode == "replace":
            # The same files as the table's current contents: nothing to do. Otherwise all of them,
            # since a replace rebuilds the table from every file.
            checksums = sorted(i.sha256 for i in infos)
            return [] if checksums == audit.published_checksums(self.conn, self.database, table.name) else infos
        loaded = audit.ever_loaded_checksums(self.conn, self.database, table.name)
        return [i for i in infos if i.sha256 not in loaded]

    def _audit_start(self, table: Table, info: FileInfo, status: str = "running") -> int:
        load_id = audit.start_file(
            self.conn,
            run_id=self.run_id,
            dataset=self.contract.dataset,
            database=self.database,
            table=table.name,
            path=str(info.path.resolve()),
            size=info.size,
            sha256=info.sha256,
            mode=table.mode,
            status=status,
        )
        if status == "skipped":
            audit.finish_file(self.conn, load_id, status="skipped", message="already loaded (same sha256)")
        else:
            self.file_loads.append(load_id)
        return load_id

    # -- one file ------------------------------------------------------------------------
    def _stage_file(self, table: Table, work: str, info: FileInfo, file_index: int) -> FileReport:
        load_id = self._audit_start(table, info)
        report = FileReport(table.name, info.path)
        started = time.perf_counter()
        task = self.progress.add_task(f"{table.name} ← {info.path.name}", total=info.size) if self.progress else None
        sql = load_statement(work, info.columns)
        excluded: dict[int, str] = {}
        keys_before = self.keys.snapshot() if self.keys is not None else None
        for _ in range(MAX_PASSES):
            if self.keys is not None and keys_before is not None:
                self.keys.restore(keys_before)
            quarantine = QuarantineFile(self._quarantine_path(table, info), table.dialect.encoding)
            stream = FileStream(
                info,
                table,
                quarantine,
                self.options.max_bad_rows,
                dict(excluded),
                keys=self.keys,
                earlier_files=list(self.earlier_files),
            )
            stream.on_bytes = self._advance(task)
            self.conn.begin()
            try:
                outcome = run_load(self.conn, sql, stream.chunks())
                retry = self._reconcile(info, stream, outcome, excluded)
                if retry:
                    self.conn.rollback()
                    self._restart(task, info.size)
                    continue
                stream.check_budget()
                self.conn.commit()
            except TooManyBadRows:
                self.conn.rollback()
                raise
            except StreamError as exc:
                self.conn.rollback()
                raise LoadError(str(exc)) from exc
            except BaseException:
                self.conn.rollback()
                raise
            finally:
                quarantine.close()
            lines = np.concatenate(stream.lines) if stream.lines else np.empty(0, np.int64)
            self.earlier_files.append((stream.key_base, lines))
            report.rows_read = stream.read
            report.rows_rejected = quarantine.count
            report.rows_loaded = outcome.records - outcome.skipped
            report.quarantine = quarantine.path if quarantine.count else None
            if report.rows_loaded + report.rows_rejected != report.rows_read:
                raise LoadError(
                    f"{info.path}: counts do not reconcile: {report.rows_read} read, "
                    f"{report.rows_loaded} loaded, {report.rows_rejected} quarantined"
                )
            break
        else:
            raise LoadError(f"{info.path}: MySQL kept rejecting rows after {MAX_PASSES} passes")
        report.seconds = time.perf_counter() - started
        audit.finish_file(
            self.conn,
            load_id,
            status="staged",
            rows_read=report.rows_read,
            rows_loaded=report.rows_loaded,
            rows_rejected=report.rows_rejected,
            quarantine_path=str(report.quarantine) if report.quarantine else None,
        )
        return report

    def _reconcile(self, info: FileInfo, stream: FileStream, outcome: Outcome, excluded: dict[int, str]) -> bool:
        """Check MySQL's account of the load against the loader's; True to stream the file again."""
        if outcome.error:
            raise LoadError(f"{info.path}: MySQL refused records that passed the contract's checks: {outcome.error}")
        if outcome.records != stream.sent or outcome.skipped:
            raise LoadError(
                f"{info.path}: MySQL read {outcome.records} records and skipped {outcome.skipped} where the "
                f"loader sent {stream.sent} checked records; nothing of this load is published"
            )
        others = outcome.warnings
        if not others:
            return False
        located = [(row, message) for _code, row, message in others if row is not None]
        if len(located) != len(others):
            raise LoadError(f"{info.path}: MySQL warned without naming the rows: {others[0][2]}")
        lines = np.concatenate(stream.lines)
        for row, message in located:
            excluded[int(lines[row - 1])] = f"MySQL: {message}"
        return True

    def _quarantine_path(self, table: Table, info: FileInfo) -> Path:
        """One file per source file, named after its path under the source folder (a/t.csv and
        b/t.csv of one table do not share one)."""
        relative = info.path.relative_to(self.source) if info.path.is_relative_to(self.source) else info.path.name
        return self.quarantine_root / table.name / f"{relative}.{self.run_id[:12]}.rejects.jsonl"

    # -- progress ------------------------------------------------------------------------
    def _restart(self, task: TaskID | None, total: int) -> None:
        if self.progress and task is not None:
            self.progress.reset(task, total=total)

    def _advance(self, task: TaskID | None) -> Any:
        progress = self.progress
        if progress is None or task is None:
            return None
        return lambda n: progress.advance(task, n)


def _lock(conn: LoadingConnection, database: str, timeout: int) -> None:
    """One load (stage or publish) per database at a time; released when the connection closes."""
    name = f"lakehouse_load.{database}"
    with conn.cursor() as cursor:
        if scalar(cursor, "SELECT GET_LOCK(%s, %s)", (name, timeout)) != 1:
            holder = scalar(cursor, "SELECT IS_USED_LOCK(%s)", (name,))
            raise LoadLocked(
                f"another load into database {database} is running (MySQL connection {holder}); "
                "wait for it to finish, or pass --lock-timeout SECONDS to wait for it"
            )


def load_dataset(
    contract: Contract,
    source: Path,
    settings: MySQLSettings,
    options: LoadOptions | None = None,
    progress: Progress | None = None,
) -> list[TableReport]:
    """Load every table of a contract from the files under `source` (see the module docstring)."""
    if not source.is_dir():
        raise LoadError(f"source folder {source} does not exist")
    return DatasetLoader(contract, source, settings, options or LoadOptions(), progress).run()


def publish_run(settings: MySQLSettings, database: str, run_name: str, lock_timeout: int = 600) -> list[str]:
    """Publish what the stage calls of one run (`LoadOptions(run_id=run_name, publish=False)`) staged."""
    quote_identifier(database)
    run_id = run_key(run_name)
    conn = connect(settings)
    try:
        audit.ensure_audit(conn)
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)} CHARACTER SET utf8mb4")
            cursor.execute(f"USE {quote_identifier(database)}")
        _lock(conn, database, lock_timeout)
        recover(conn, database, run_id)
        if audit.run_status(conn, run_id, database) is None:
            return []  # nothing was staged (every file unchanged)
        try:
            return publish(conn, database, run_id)
        except PublishError as exc:
            audit.set_run(conn, run_id, database, "failed", str(exc))
            raise LoadError(str(exc)) from exc
    finally:
        conn.close()
