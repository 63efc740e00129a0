"""Extract batches in the lake: their layout, their manifests, and which of them readers may see.

Layout of one table (hive-style, so Spark and DuckDB read the folder as one table with a `batch`
partition column):

    <lake>/raw/<dataset>/<table>/batch=<UTC yyyymmddThhmmssffffffZ>-<6 hex>/part-00000.parquet
                                                                             /manifest.json

A batch is *committed* when its `manifest.json` exists: the manifest is written last (on a local
lake the whole folder appears at once by a rename; on GCS the manifest is uploaded after every data
file was verified). Readers select the Parquet files by name (`*.parquet` globs in DuckDB,
`pathGlobFilter '*.parquet'` in Spark) and the manifests by theirs; the manifest's name has no
leading `_` because Spark hides such files from every reader, the JSON one included.
Batch ids sort in time order, so "the latest" is the greatest id.

What a table holds now (`read_current`, and the same rule in dbt's `committed_rows` and the
README's DuckDB recipe), resolved when the reader runs:
1. the latest committed `full` batch and every committed `incremental` batch after it;
2. for each primary key, the version from the newest of those batches (within one batch a row
   wins over a tombstone: tombstones come from a key scan taken before the rows were read);
3. minus the keys whose newest version is a tombstone (`_lh_deleted` true: a row deleted in MySQL).
A table with no committed batch is an error, never an empty table.

Older batches are kept for `--keep N` full snapshots and, once superseded, for a grace period
(default 24 h) so a reader that listed their files can finish; then they are removed (manifest
first, so a half-removed batch is simply uncommitted and the next run finishes it).
"""

from __future__ import annotations

import builtins
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, ValidationError

from ingest.core import failpoints
from ingest.core import lake as lakes
from ingest.core.lake import Lake, LakeError

MANIFEST = "manifest.json"
BATCH_PREFIX = "batch="
# 2: every data file has a `_lh_deleted` column (tombstones), the watermark's low bound is
# inclusive (a look-back window), and the manifest names the primary key.
FORMAT_VERSION = 2
DELETED = "_lh_deleted"
DEFAULT_GRACE = timedelta(hours=24)


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str  # relative to the batch folder
    rows: int
    bytes: int
    row_groups: int
    crc32c: str  # base64, as GCS reports it


class ColumnEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: str  # the contract's SQL type, e.g. DECIMAL(15,2)
    arrow: str  # the Parquet file's Arrow type, e.g. decimal128(15, 2)
    nullable: bool
    renamed_from: str | None = None  # the column's earlier name (the contract's rename), for lineage


class Watermark(BaseModel):
    """The cursor range a batch read: `low` <= cursor <= `high` (`low` None: from the start;
    format 1 batches read `low` < cursor)."""

    model_config = ConfigDict(extra="forbid")

    column: str
    type: str
    low: str | None
    high: str | None


class BinlogPosition(BaseModel):
    """A position in the server's binary log (change data capture): the file and the offset in it."""

    model_config = ConfigDict(extra="forbid")

    file: str
    position: int

    def key(self) -> tuple[str, int]:
        return self.file, self.position  # file names end in a zero-padded sequence number


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    dataset: str
    table: str
    batch: str
    mode: Literal["full", "incremental"]
    source_database: str
    reader: str
    started_at: str
    committed_at: str
    rows: int  # rows written (tombstones not counted)
    source_rows: int  # what MySQL counted for the rows read; reconciled, or nothing is committed
    deleted: int = 0  # tombstones: keys the lake held that MySQL no longer has
    primary_key: list[str] = []
    bytes: int
    compression: str
    files: list[FileEntry]
    columns: list[ColumnEntry]
    watermark: Watermark | None
    binlog: BinlogPosition | None = None  # cdc: the log position this batch brings the table to

    def to_json(self) -> builtins.bytes:
        """One line of JSON, so Spark's default (JSON Lines) reader reads a manifest as one row."""
        return (json.dumps(self.model_dump(mode="json"), separators=(",", ":")) + "\n").encode()


@dataclass(frozen=True)
class Batch:
    """A committed batch: its id, where it lives and what its manifest says."""

    id: str
    prefix: str  # key of the batch folder
    manifest: Manifest

    @property
    def mode(self) -> str:
        return self.manifest.mode

    def file_keys(self) -> list[str]:
        return [f"{self.prefix}/{f.path}" for f in self.manifest.files]


def new_batch_id(now: datetime | None = None) -> str:
    """A sortable, unique id: UTC time to the microsecond, then 6 random hex digits."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(3)}"


def next_batch_id(existing: list[Batch], now: datetime | None = None) -> str:
    """A new id that sorts after every existing batch of the table, even when this machine's clock
    is behind the one that wrote the newest batch (readers order batches by id)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    if existing:
        newest = max(b.id for b in existing).split("-", 1)[0]
        moment = max(
            moment, datetime.strptime(newest, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC) + timedelta(microseconds=1)
        )
    return new_batch_id(moment)


def table_prefix(dataset: str, table: str) -> str:
    return f"raw/{dataset}/{table}"


def batch_prefix(dataset: str, table: str, batch_id: str) -> str:
    return f"{table_prefix(dataset, table)}/{BATCH_PREFIX}{batch_id}"


def _open(lake: Lake | str) -> Lake:
    return lakes.parse_lake(lake) if isinstance(lake, str) else lake


def _folders(lake: Lake, dataset: str, table: str) -> dict[str, dict[str, int]]:
    """Batch folder name -> {file name: size}, from one listing of the table's prefix."""
    base = table_prefix(dataset, table)
    folders: dict[str, dict[str, int]] = {}
    for key, size in lakes.list_files(lake, base).items():
        rest = key[len(base) + 1 :]
        folder, _, name = rest.partition("/")
        if folder.startswith(BATCH_PREFIX) and name:
            folders.setdefault(folder, {})[name] = size
    return folders


def _read_manifest(lake: Lake, key: str) -> Manifest:
    try:
        return Manifest.model_validate_json(lakes.read_bytes(lake, key))
    except ValidationError as exc:
        raise LakeError(f"manifest {lakes.url(lake, key)} is not valid: {exc}") from exc


def committed_batches(lake: Lake | str, dataset: str, table: str) -> list[Batch]:
    """Every committed batch of a table, oldest first. Checks that each manifest's files exist."""
    lake = _open(lake)
    batches = []
    for folder, files in sorted(_folders(lake, dataset, table).items()):
        if MANIFEST not in files:
            continue
        prefix = f"{table_prefix(dataset, table)}/{folder}"
        manifest = _read_manifest(lake, f"{prefix}/{MANIFEST}")
        for entry in manifest.files:
            if files.get(entry.path) != entry.bytes:
                raise LakeError(
                    f"committed batch {lakes.url(lake, prefix)} is damaged: {entry.path} is missing or has the "
                    "wrong size. Remove the batch folder (or its manifest.json) and extract again."
                )
        batches.append(Batch(id=folder[len(BATCH_PREFIX) :], prefix=prefix, manifest=manifest))
    return batches


def current_batches(lake: Lake | str, dataset: str, table: str) -> list[Batch]:
    """The batches readers read: the latest committed full batch and the incremental batches after it."""
    return _current(committed_batches(lake, dataset, table))


def _current(batches: list[Batch]) -> list[Batch]:
    fulls = [i for i, b in enumerate(batches) if b.mode == "full"]
    return batches[fulls[-1] :] if fulls else batches


def current_files(lake: Lake | str, dataset: str, table: str) -> list[str]:
    """Addresses of the Parquet files of the current batches (read them with `read_current`'s rule)."""
    lake = _open(lake)
    return [lakes.url(lake, key) for batch in current_batches(lake, dataset, table) for key in batch.file_keys()]


def read_current(
    lake: Lake | str,
    dataset: str,
    table: str,
    columns: list[str] | None = None,
    since: tuple[str, object] | None = None,
    live_keys: pa.Table | None = None,
) -> pa.Table:
    """The table as it is now (see the module docstring): newest version per key, tombstones applied.

    `columns` limits what is returned; `since=(column, value)` returns only rows with column >=
    value, reading only the row groups whose statistics may hold such rows (the keys of every
    file are still read, to know which version of a key is the newest; `live_keys`, what
    `current_keys` returned, spares that read). Raises LakeError when the table has no committed batch.
    """
    lake = _open(lake)
    batches = _require(lake, dataset, table)
    key = batches[-1].manifest.primary_key
    wanted = columns or [c.name for c in batches[-1].manifest.columns]
    read = [*key, *[c for c in wanted if c not in key]]
    if since is not None and since[0] not in read:
        read.append(since[0])
    rows = _read(lake, batches, read, since)
    rows = rows.filter(pc.invert(rows[DELETED]))
    if key and len(batches) > 1:  # only the newest version of each key, if it is not a tombstone
        live = live_keys if live_keys is not None else current_keys(lake, dataset, table, batches)
        rows = rows.join(live, keys=[*key, RANK], join_type="left semi")
        rows = _one_per_key(rows, key)
    return rows.select(wanted)


def _one_per_key(rows: pa.Table, key: list[str]) -> pa.Table:
    """One row per key even if a batch holds a key twice (a key renamed between an incremental's
    key scan and its read, to a value MySQL's collation equates with the old one)."""
    numbered = rows.append_column("_lh_row", pa.array(range(rows.num_rows), pa.int64()))
    firsts = numbered.group_by(key, use_threads=False).aggregate([("_lh_row", "min")])["_lh_row_min"]
    return rows.take(firsts) if len(firsts) < rows.num_rows else rows


def current_keys(lake: Lake | str, dataset: str, table: str, batches: list[Batch] | None = None) -> pa.Table:
    """The primary keys of the live rows, with the rank of the batch their version comes from."""
    lake = _open(lake)
    batches = batches or _require(lake, dataset, table)
    key = batches[-1].manifest.primary_key
    if not key:
        raise LakeError(f"{dataset}.{table} has no primary key: its rows cannot be told apart")
    rows = _read(lake, batches, key, None)
    if len(batches) > 1:
        order = [(RANK, "ascending"), (DELETED, "descending")]  # the last row of each key wins
        rows = rows.sort_by(order).append_column("_lh_row", pa.array(range(rows.num_rows), pa.int64()))
        winners = rows.group_by(key, use_threads=False).aggregate([("_lh_row", "max")])["_lh_row_max"]
        rows = rows.take(winners)
    return rows.filter(pc.invert(rows[DELETED])).select([*key, RANK])


RANK = "_lh_rank"


def _require(lake: Lake, dataset: str, table: str) -> list[Batch]:
    batches = current_batches(lake, dataset, table)
    if not batches:
        raise LakeError(
            f"{lakes.url(lake, table_prefix(dataset, table))} has no committed batch: extract it first "
            f"(`python -m ingest extract --dataset {dataset} --tables {table}`)"
        )
    return batches


def _read(lake: Lake, batches: list[Batch], columns: list[str], since: tuple[str, object] | None) -> pa.Table:
    """`columns` of every file of `batches`, with `_lh_deleted` and the batch's rank (0 = oldest)."""
    pieces = []
    for rank, batch in enumerate(batches):
        tombstones = batch.manifest.format_version >= 2
        for file_key in batch.file_keys():
            with lakes.open_input(lake, file_key) as handle:
                parquet = pq.ParquetFile(handle)
                groups = _groups_since(parquet, since)
                part = parquet.read_row_groups(groups, columns=columns + ([DELETED] if tombstones else []))
            if since is not None:
                part = part.filter(
                    pc.greater_equal(part[since[0]], pa.scalar(since[1], part.schema.field(since[0]).type))
                )
            if not tombstones:  # format 1: no tombstones
                part = part.append_column(DELETED, pa.array([False] * part.num_rows, pa.bool_()))
            pieces.append(part.append_column(RANK, pa.array([rank] * part.num_rows, pa.int32())))
    return pa.concat_tables(pieces)


def _groups_since(parquet: pq.ParquetFile, since: tuple[str, object] | None) -> list[int]:
    """Row groups that may hold rows with column >= value (by their statistics)."""
    groups = range(parquet.metadata.num_row_groups)
    if since is None:
        return list(groups)
    index = parquet.schema_arrow.get_field_index(since[0])
    keep = []
    for group in groups:
        stats = parquet.metadata.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max or stats.max is None or _at_least(stats.max, since[1]):
            keep.append(group)
    return keep


def _at_least(maximum: object, value: object) -> bool:
    if (
        isinstance(maximum, datetime)
        and isinstance(value, datetime)
        and (maximum.tzinfo is None) != (value.tzinfo is None)
    ):
        maximum, value = (x if x.tzinfo else x.replace(tzinfo=UTC) for x in (maximum, value))  # naive = UTC
    try:
        return bool(maximum >= value)  # type: ignore[operator]
    except TypeError:  # values that do not compare: read the group
        return True


def current_columns(lake: Lake | str, dataset: str, table: str) -> list[str]:
    """The table's columns now: those of its newest committed batch's manifest. Every reader
    (`read_current`, dbt's `committed_rows`, `duckdb_sql`) returns exactly these."""
    return [c.name for c in _require(_open(lake), dataset, table)[-1].manifest.columns]


def duckdb_recipe(folder: str, columns: list[str], key: list[str]) -> str:
    """DuckDB SQL that reads a table's folder by `read_current`'s rule, returning `columns`."""
    listed = ", ".join(f'"{c}"' for c in columns)
    files = f"read_parquet('{folder}/*/*.parquet', hive_partitioning = true, union_by_name = true)"
    manifests = f"select batch, mode from read_json('{folder}/*/manifest.json', hive_partitioning = true)"
    latest_full = "(select max(batch) from manifests where mode = 'full')"
    if not key:
        return (
            f"with manifests as (\n    {manifests}\n)\nselect {listed}\nfrom {files} as rows\n"
            f"where rows.batch = {latest_full} and not coalesce(_lh_deleted, false)\n"
        )
    partition = ", ".join(f'"{k}"' for k in key)
    return (
        f"with manifests as (\n    {manifests}\n), versions as (\n"
        f"    select rows.*, row_number() over (\n"
        f"        partition by {partition} order by rows.batch desc, coalesce(_lh_deleted, false)\n"
        f"    ) as _lh_rank\n"
        f"    from {files} as rows\n"
        f"    where rows.batch in (select batch from manifests)\n"
        f"      and rows.batch >= {latest_full}\n"
        f")\n"
        f"select {listed}\nfrom versions where _lh_rank = 1 and not coalesce(_lh_deleted, false)\n"
    )


def duckdb_sql(lake: Lake | str, dataset: str, table: str) -> str:
    """The DuckDB recipe for one table of a lake, with its current columns and key."""
    lake = _open(lake)
    newest = _require(lake, dataset, table)[-1].manifest
    folder = lakes.url(lake, table_prefix(dataset, table))
    return duckdb_recipe(folder, [c.name for c in newest.columns], newest.primary_key)


def latest_full_batch(batches: list[Batch]) -> Batch | None:
    fulls = [b for b in batches if b.mode == "full"]
    return fulls[-1] if fulls else None


def remove_uncommitted(lake: Lake, dataset: str, table: str) -> list[str]:
    """Delete batch folders that have no manifest (left by a kill or a failed upload).

    Only safe while holding the table's extract lock: a running extract's batch has no manifest yet.
    """
    removed = []
    for folder, files in _folders(lake, dataset, table).items():
        if MANIFEST not in files:
            lakes.delete_folder(lake, f"{table_prefix(dataset, table)}/{folder}")
            removed.append(folder[len(BATCH_PREFIX) :])
    return removed


def apply_retention(
    lake: Lake, dataset: str, table: str, keep: int, grace: timedelta = DEFAULT_GRACE, now: datetime | None = None
) -> list[str]:
    """Remove batches no reader needs: older than the `keep` latest full snapshots, and superseded
    (by the next full snapshot's commit) more than `grace` ago, so a reader that listed them a
    moment before can still read their files.

    Each batch loses its manifest first, so a kill half-way leaves an uncommitted folder, never a
    committed batch with missing files.
    """
    if keep < 1:
        raise ValueError("keep at least one full snapshot")
    now = now or datetime.now(UTC)
    batches = committed_batches(lake, dataset, table)
    fulls = [b for b in batches if b.mode == "full"]
    if len(fulls) <= keep:
        return []
    oldest_kept = fulls[-keep].id
    removed = []
    for batch in batches:
        if batch.id >= oldest_kept:
            break
        superseded_by = next(f for f in fulls if f.id > batch.id)
        if now - datetime.fromisoformat(superseded_by.manifest.committed_at) < grace:
            continue
        lakes.delete(lake, [f"{batch.prefix}/{MANIFEST}"])
        failpoints.checkpoint("LAKEHOUSE_EXTRACT_STOP_AT", "retention")
        lakes.delete_folder(lake, batch.prefix)
        removed.append(batch.id)
    return removed
