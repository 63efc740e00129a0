"""A CSV file as the loader first sees it: its checksum, header and where its records start."""

from __future__ import annotations

import codecs
import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from ingest.core.contract import Column, Table
from ingest.core.errors import DataError

BOM = codecs.BOM_UTF8
CHUNK = 1 << 20


class FileError(DataError, ValueError):
    """A whole file cannot be loaded (empty, header does not match the contract, ...)."""


@dataclass(frozen=True)
class FileInfo:
    path: Path
    size: int
    sha256: str
    data_offset: int  # where the first data record starts (after a byte-order mark and the header)
    columns: list[Column]  # the contract's columns in the order the file holds them


def checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def first_line(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.readline()


def inspect_file(path: Path, table: Table) -> FileInfo:
    """Check a file's shape against its table before a byte of it is loaded."""
    size = path.stat().st_size
    dialect = table.dialect
    line = first_line(path)
    bom = len(BOM) if line.startswith(BOM) else 0
    line = line[bom:]
    if size == 0 or (dialect.header and not line.strip()):
        raise FileError(
            f"{path}: the file is empty (expected a header row)" if dialect.header else f"{path}: the file is empty"
        )
    columns = _header_columns(path, line, table) if dialect.header else list(table.columns)
    return FileInfo(path, size, checksum(path), bom + (len(line) if dialect.header else 0), columns)


def _header_columns(path: Path, line: bytes, table: Table) -> list[Column]:
    """Map the header to contract columns; the file may order them differently."""
    dialect = table.dialect
    try:
        text = line.decode(dialect.encoding)
    except UnicodeDecodeError as exc:
        raise FileError(f"{path}: the header is not valid {dialect.encoding}: {exc}") from exc
    try:
        header = next(csv.reader([text.rstrip("\r\n")], delimiter=dialect.delimiter, quotechar=dialect.quote))
    except csv.Error as exc:
        raise FileError(f"{path}: the header cannot be read as CSV ({exc}); lines must end with LF or CRLF") from exc
    # Matched case-insensitively; a name the contract lists twice (a file with a repeated header)
    # takes its columns in contract order, one per occurrence in the file.
    waiting: dict[str, list[Column]] = {}
    for column in table.columns:
        waiting.setdefault(column.header_name.strip().lower(), []).append(column)
    found, unknown, repeated = [], [], []
    for name in header:
        key = name.strip().lower()
        if waiting.get(key):
            found.append(waiting[key].pop(0))
        elif key in waiting:
            repeated.append(name)
        else:
            unknown.append(name)
    missing = [c.header_name for columns in waiting.values() for c in columns]
    if missing or unknown or repeated:
        problems = []
        if missing:
            problems.append(f"missing {missing}")
        if unknown:
            problems.append(f"not in the contract {unknown}")
        if repeated:
            problems.append(f"repeated {sorted(set(repeated))}")
        raise FileError(
            f"{path}: the header does not match table {table.name} of the contract ({'; '.join(problems)}). "
            f"Expected the columns {[c.header_name for c in table.columns]} in any order."
        )
    return found
