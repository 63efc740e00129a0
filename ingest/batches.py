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

What a table holds now is `current_batches`: the latest committed `full` batch and every committed
`incremental` batch after it. Older batches are kept for `--keep N` full snapshots, then removed
(manifest first, so a half-removed batch is simply uncommitted and the next run finishes it).
"""

from __future__ import annotations

import builtins
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ingest import lake as lakes
from ingest.lake import Lake, LakeError

MANIFEST = "manifest.json"
BATCH_PREFIX = "batch="
FORMAT_VERSION = 1


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


class Watermark(BaseModel):
    """The cursor range a batch covers: `low` < cursor <= `high` (`low` None: from the start)."""

    model_config = ConfigDict(extra="forbid")

    column: str
    type: str
    low: str | None
    high: str | None


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
    rows: int
    source_rows: int  # what MySQL counted for the same range; equal to `rows` or nothing is committed
    bytes: int
    compression: str
    files: list[FileEntry]
    columns: list[ColumnEntry]
    watermark: Watermark | None

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
    """What readers read: the latest committed full batch and the incremental batches after it."""
    batches = committed_batches(lake, dataset, table)
    fulls = [i for i, b in enumerate(batches) if b.mode == "full"]
    return batches[fulls[-1] :] if fulls else batches


def current_files(lake: Lake | str, dataset: str, table: str) -> list[str]:
    """Addresses of the Parquet files readers should read (e.g. a list for DuckDB's read_parquet)."""
    lake = _open(lake)
    return [lakes.url(lake, key) for batch in current_batches(lake, dataset, table) for key in batch.file_keys()]


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


def apply_retention(lake: Lake, dataset: str, table: str, keep: int) -> list[str]:
    """Keep the `keep` latest full snapshots (and the incrementals after the oldest kept); remove the rest.

    Each batch loses its manifest first, so a kill half-way leaves an uncommitted folder, never a
    committed batch with missing files.
    """
    if keep < 1:
        raise ValueError("keep at least one full snapshot")
    batches = committed_batches(lake, dataset, table)
    fulls = [b.id for b in batches if b.mode == "full"]
    if len(fulls) <= keep:
        return []
    oldest_kept = fulls[-keep]
    removed = []
    for batch in batches:
        if batch.id < oldest_kept:
            lakes.delete(lake, [f"{batch.prefix}/{MANIFEST}"])
            lakes.delete_folder(lake, batch.prefix)
            removed.append(batch.id)
    return removed
