"""CSV files -> MySQL tables, losing nothing.

For each table of a contract the loader stages every file in a `_stg_<table>` copy: first a plain
LOAD DATA (the fast path); if MySQL reports any problem, the load is rolled back and the file is
read again through the contract's validator, which quarantines each bad record with its line
number and reason and streams only the good ones. When every table is staged, all of them are
published at once (one atomic RENAME for `replace` tables, one transaction for `upsert` tables).
A failure or a kill before that point leaves the previous contents untouched.
"""

from __future__ import annotations

import csv
import time
import uuid
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pymysql
from pymysql.connections import Connection
from rich.progress import Progress, TaskID

from ingest import audit
from ingest.contract import Contract, Table
from ingest.csvfile import BOM, FileError, FileInfo, first_line, inspect_file, read_records, stream_bytes
from ingest.loaddata import SHADOW_COLUMN, Outcome, load_statement, named_pipe, needs_shadow_column, run_load
from ingest.mysql import connect, create_table_sql, exact_collation, quote_identifier, scalar
from ingest.settings import MySQLSettings, quarantine_dir
from ingest.validate import RowValidator

STAGE_PREFIX = "_stg_"
OLD_PREFIX = "_old_"
MAX_VALIDATION_PASSES = 3


class LoadError(RuntimeError):
    """A load that cannot finish; the target tables keep their previous contents."""


class TooManyBadRows(LoadError):
    pass


class LoadLocked(LoadError):
    pass


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
    validated: bool = False  # the file went through the validating path


@dataclass
class TableReport:
    name: str
    mode: str
    files: list[FileReport] = field(default_factory=list)

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


class _Quarantine:
    """Bad records of one file, written as CSV: line, reason, the record's exact text."""

    def __init__(self, path: Path, encoding: str) -> None:
        self.path = path
        self.encoding = encoding
        self.count = 0
        self.first: tuple[int, str] | None = None
        self._handle: TextIO | None = None
        self._writer: Any = None  # a csv writer, opened with the first bad record

    def add(self, line: int, reason: str, raw: bytes) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # surrogateescape keeps undecodable bytes exactly as they were in the source
            self._handle = self.path.open("w", encoding=self.encoding, errors="surrogateescape", newline="")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "reason", "record"])
        if self.first is None:
            self.first = (line, reason)
        self._writer.writerow([line, reason, raw.decode(self.encoding, "surrogateescape").rstrip("\r\n")])
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def resolve_files(table: Table, source: Path) -> list[Path]:
    files = sorted(p for p in source.glob(table.files) if p.is_file())
    if not files:
        raise LoadError(f"table {table.name}: no file in {source} matches {table.files!r}")
    return files


class DatasetLoader:
    """One load command: lock, stage every table, publish them together, record it all."""

    def __init__(
        self, contract: Contract, source: Path, settings: MySQLSettings, options: LoadOptions, progress: Progress | None
    ) -> None:
        self.contract = contract
        self.source = source
        self.options = options
        self.progress = progress
        self.database = options.database or contract.dataset
        quote_identifier(self.database)
        self.run_id = uuid.uuid4().hex
        self.conn: Connection = connect(settings, local_infile=True)  # type: ignore[type-arg]
        self.collation = exact_collation(self.conn)
        self.quarantine_root = (options.quarantine_root or quarantine_dir()) / self.database

    # -- the whole run -------------------------------------------------------------------
    def run(self) -> list[TableReport]:
        tables = self._selected_tables()
        try:
            self._prepare()
            self._lock()
            plans = [(table, [inspect_file(p, table) for p in resolve_files(table, self.source)]) for table in tables]
            reports, staged = [], []
            for table, infos in plans:
                report, was_staged = self._stage_table(table, infos)
                reports.append(report)
                if was_staged:
                    staged.append(table)
            self._publish(staged)
            return reports
        except FileError as exc:
            raise LoadError(str(exc)) from exc
        except BaseException as exc:
            self._abandon(exc)
            raise
        finally:
            self.conn.close()  # also releases the lock

    def _selected_tables(self) -> list[Table]:
        if not self.options.tables:
            return list(self.contract.tables)
        return [self.contract.table(name) for name in self.options.tables]

    def _prepare(self) -> None:
        audit.ensure_audit(self.conn)
        with self.conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.database)} CHARACTER SET utf8mb4")
            cursor.execute(f"USE {quote_identifier(self.database)}")
            cursor.execute("SET SESSION max_error_count = 65535")

    def _lock(self) -> None:
        name = f"lakehouse_load.{self.database}"
        with self.conn.cursor() as cursor:
            granted = scalar(cursor, "SELECT GET_LOCK(%s, %s)", (name, self.options.lock_timeout))
            if granted != 1:
                holder = scalar(cursor, "SELECT IS_USED_LOCK(%s)", (name,))
                raise LoadLocked(
                    f"another load into database {self.database} is running (MySQL connection {holder}); "
                    "wait for it to finish, or pass --lock-timeout SECONDS to wait for it"
                )
        # Only now is it safe to clean what a killed run left behind.
        audit.mark_interrupted(self.conn, self.database)
        with self.conn.cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND (table_name LIKE '\\_stg\\_%%' OR table_name LIKE '\\_old\\_%%')",
                (self.database,),
            )
            for (leftover,) in cursor.fetchall():
                cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(leftover)}")

    def _abandon(self, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"[:4000]
        try:
            self.conn.rollback()
            for status in ("running", "staged"):
                audit.set_run_status(self.conn, self.run_id, status, "failed", message)
            with self.conn.cursor() as cursor:
                for table in self.contract.tables:
                    cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(STAGE_PREFIX + table.name)}")
        except pymysql.err.MySQLError:
            pass  # the connection itself may be what failed; the next run cleans up

    # -- one table -----------------------------------------------------------------------
    def _stage_table(self, table: Table, infos: list[FileInfo]) -> tuple[TableReport, bool]:
        report = TableReport(table.name, table.mode)
        todo = self._files_to_load(table, infos)
        for info in infos:
            if info not in todo:
                report.files.append(FileReport(table.name, info.path, skipped=True))
                self._audit_start(table, info, status="skipped")
        if not todo:
            return report, False
        stage = STAGE_PREFIX + table.name
        shadow = any(needs_shadow_column(info.columns, table.dialect) for info in todo)
        with self.conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(stage)}")
            cursor.execute(create_table_sql(table, stage, collation=self.collation, shadow_column=shadow))
        for info in todo:
            report.files.append(self._stage_file(table, stage, info))
        if shadow:
            with self.conn.cursor() as cursor:
                cursor.execute(f"ALTER TABLE {quote_identifier(stage)} DROP COLUMN {quote_identifier(SHADOW_COLUMN)}")
        return report, True

    def _files_to_load(self, table: Table, infos: list[FileInfo]) -> list[FileInfo]:
        if self.options.force or not self._target_exists(table.name):
            return infos
        checksums = {i.sha256 for i in infos}
        if table.mode == "replace":
            # The same files as the table's current contents: nothing to do. Otherwise all of them,
            # since a replace rebuilds the table from every file.
            return [] if checksums == audit.published_checksums(self.conn, self.database, table.name) else infos
        loaded = audit.ever_loaded_checksums(self.conn, self.database, table.name)
        return [i for i in infos if i.sha256 not in loaded]

    def _target_exists(self, name: str) -> bool:
        with self.conn.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
                (self.database, name),
            )
            return cursor.fetchone() is not None

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
        return load_id

    # -- one file ------------------------------------------------------------------------
    def _stage_file(self, table: Table, stage: str, info: FileInfo) -> FileReport:
        load_id = self._audit_start(table, info)
        report = FileReport(table.name, info.path)
        started = time.perf_counter()
        task = self._task(f"{table.name} ← {info.path.name}", info.size)
        with named_pipe() as pipe:
            sql, params = load_statement(quote_identifier(stage), info, table.dialect, pipe)
            outcome = self._transaction(sql, params, pipe, stream_bytes(info), task) if info.balanced_quotes else None
            if outcome is not None:
                report.rows_read = report.rows_loaded = outcome.records
            else:
                self._stage_validated(table, stage, info, sql, params, pipe, report, task)
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

    def _transaction(
        self, sql: str, params: list[str], pipe: Path, chunks: Iterator[bytes], task: TaskID | None
    ) -> Outcome | None:
        """Load inside a transaction; keep it only if MySQL had nothing to say. Returns None otherwise."""
        self.conn.begin()
        outcome = run_load(self.conn, sql, params, pipe, chunks, self._advance(task))
        if outcome.clean:
            self.conn.commit()
            return outcome
        self.conn.rollback()
        return None

    def _stage_validated(
        self,
        table: Table,
        stage: str,
        info: FileInfo,
        sql: str,
        params: list[str],
        pipe: Path,
        report: FileReport,
        task: TaskID | None,
    ) -> None:
        """The validating path: quarantine bad records, load the rest, repeat if MySQL objects."""
        report.validated = True
        known: dict[int, str] = {}  # line -> reason, from MySQL when the validator let a row through
        for _ in range(MAX_VALIDATION_PASSES):
            quarantine = _Quarantine(self._quarantine_path(table, info), table.dialect.encoding)
            good_lines = array("q")
            validator = RowValidator(info.columns, table.dialect, table.primary_key)
            self._remember_staged_keys(stage, table, validator)
            counts = {"read": 0}
            self._restart(task, f"{table.name} ← {info.path.name} (validating)", info.size)
            chunks = self._good_records(info, table, validator, known, quarantine, good_lines, counts)
            try:
                self.conn.begin()
                outcome = run_load(self.conn, sql, params, pipe, chunks, self._advance(task))
            finally:
                quarantine.close()
            report.rows_read, report.rows_rejected = counts["read"], quarantine.count
            report.quarantine = quarantine.path if quarantine.count else None
            self._check_bad_rows(info, quarantine)
            if outcome.clean:
                self.conn.commit()
                report.rows_loaded = outcome.records
                if report.rows_loaded + report.rows_rejected != report.rows_read:
                    raise LoadError(
                        f"{info.path}: counts do not reconcile: {report.rows_read} read, "
                        f"{report.rows_loaded} loaded, {report.rows_rejected} quarantined"
                    )
                return
            self.conn.rollback()
            self._learn_from_mysql(info, outcome, good_lines, known)
        raise LoadError(f"{info.path}: MySQL kept rejecting rows after {MAX_VALIDATION_PASSES} validation passes")

    def _good_records(
        self,
        info: FileInfo,
        table: Table,
        validator: RowValidator,
        known: dict[int, str],
        quarantine: _Quarantine,
        good_lines: array,  # type: ignore[type-arg]
        counts: dict[str, int],
    ) -> Iterator[bytes]:
        """The header (if any) and every record that passes, in chunks of about 1 MiB."""
        buffer: list[bytes] = []
        size = 0
        if table.dialect.header:
            header = first_line(info.path)
            buffer.append(header[len(BOM) :] if info.has_bom else header)
        for record in read_records(info, table.dialect):
            counts["read"] += 1
            reason = record.problem or known.get(record.line) or validator.problem(record.fields, record.line)
            if reason:
                quarantine.add(record.line, reason, record.raw)
                continue
            good_lines.append(record.line)
            buffer.append(record.raw)
            size += len(record.raw)
            if size >= 1 << 20:
                yield b"".join(buffer)
                buffer, size = [], 0
        if buffer:
            yield b"".join(buffer)

    def _remember_staged_keys(self, stage: str, table: Table, validator: RowValidator) -> None:
        """Keys loaded from earlier files of the same table count as duplicates too."""
        if not table.primary_key:
            return
        keys = ", ".join(quote_identifier(k) for k in table.primary_key)
        with self.conn.cursor(pymysql.cursors.SSCursor) as cursor:
            cursor.execute(f"SELECT {keys} FROM {quote_identifier(stage)}")
            for row in cursor:
                validator.remember_key(tuple(row))

    def _learn_from_mysql(self, info: FileInfo, outcome: Outcome, good_lines: array, known: dict[int, str]) -> None:  # type: ignore[type-arg]
        """Map MySQL's complaints about streamed rows back to source lines, to exclude next pass."""
        located = [(row, message) for _code, row, message in outcome.warnings if row is not None]
        if outcome.error or not located:
            problem = (
                outcome.error or "; ".join(m for _, _, m in outcome.warnings[:3]) or f"{outcome.skipped} rows skipped"
            )
            raise LoadError(f"{info.path}: MySQL refused rows the validator accepted and did not say which: {problem}")
        for row, message in located:
            known[good_lines[row - 1]] = f"MySQL: {message}"

    def _check_bad_rows(self, info: FileInfo, quarantine: _Quarantine) -> None:
        if quarantine.count > self.options.max_bad_rows and quarantine.first:
            line, reason = quarantine.first
            self.conn.rollback()
            raise TooManyBadRows(
                f"{info.path}: {quarantine.count} bad row(s), more than --max-bad-rows {self.options.max_bad_rows}. "
                f"First at line {line}: {reason}. All bad rows are in {quarantine.path}; "
                "nothing was published and the tables keep their previous contents."
            )

    def _quarantine_path(self, table: Table, info: FileInfo) -> Path:
        return self.quarantine_root / table.name / f"{info.path.name}.{self.run_id[:12]}.rejects.csv"

    # -- publishing ----------------------------------------------------------------------
    def _publish(self, tables: list[Table]) -> None:
        """Make every staged table visible at once."""
        upserts = [t for t in tables if t.mode == "upsert"]
        replaces = [t for t in tables if t.mode == "replace"]
        with self.conn.cursor() as cursor:
            if upserts:
                self.conn.begin()
                for table in upserts:
                    cursor.execute(create_table_sql(table, collation=self.collation, if_not_exists=True))
                    cursor.execute(_upsert_sql(table))
                self.conn.commit()
            if replaces:
                renames, old = [], []
                for table in replaces:
                    name = quote_identifier(table.name)
                    if self._target_exists(table.name):
                        renames.append(f"{name} TO {quote_identifier(OLD_PREFIX + table.name)}")
                        old.append(OLD_PREFIX + table.name)
                    renames.append(f"{quote_identifier(STAGE_PREFIX + table.name)} TO {name}")
                cursor.execute("RENAME TABLE " + ", ".join(renames))
                for name in old:
                    cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(name)}")
            for table in upserts:
                cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(STAGE_PREFIX + table.name)}")
        audit.set_run_status(self.conn, self.run_id, "staged", "succeeded")

    # -- progress ------------------------------------------------------------------------
    def _task(self, label: str, total: int) -> TaskID | None:
        return self.progress.add_task(label, total=total) if self.progress else None

    def _restart(self, task: TaskID | None, label: str, total: int) -> None:
        if self.progress and task is not None:
            self.progress.reset(task, total=total, description=label)

    def _advance(self, task: TaskID | None):  # type: ignore[no-untyped-def]
        progress = self.progress
        if progress is None or task is None:
            return lambda _n: None
        return lambda n: progress.advance(task, n)


def _upsert_sql(table: Table) -> str:
    columns = [quote_identifier(c.name) for c in table.columns]
    updates = [f"{c} = VALUES({c})" for c in columns if c.strip("`") not in table.primary_key]
    if not updates:  # a table made only of its key: nothing to update
        updates = [f"{columns[0]} = {columns[0]}"]
    return (
        f"INSERT INTO {quote_identifier(table.name)} ({', '.join(columns)}) "
        f"SELECT {', '.join(columns)} FROM {quote_identifier(STAGE_PREFIX + table.name)} "
        f"ON DUPLICATE KEY UPDATE {', '.join(updates)}"
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
