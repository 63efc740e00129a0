"""Reading CSV files the way the loader needs: their shape, checksum and raw records."""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.contract import Column, Dialect, Table

BOM = codecs.BOM_UTF8
CHUNK = 1 << 20


class FileError(ValueError):
    """A whole file cannot be loaded (empty, header does not match the contract, ...)."""


@dataclass(frozen=True)
class FileInfo:
    path: Path
    size: int
    sha256: str
    has_bom: bool
    line_terminator: str  # "\n" or "\r\n", as the file's first line ends
    columns: list[Column]  # the contract's columns in the order the file holds them
    # An odd number of quote characters means a quoted field never ends. LOAD DATA would take
    # the rest of the file into it without a word, so such a file goes through the validator.
    balanced_quotes: bool


def checksum_and_quotes(path: Path, quote: str) -> tuple[str, bool]:
    """The file's sha256, and whether its quote characters pair up (one pass, in C)."""
    digest = hashlib.sha256()
    mark = quote.encode()
    quotes = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            quotes += chunk.count(mark)
    return digest.hexdigest(), quotes % 2 == 0


def first_line(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.readline()


def inspect_file(path: Path, table: Table) -> FileInfo:
    """Check a file's shape against its table before a byte of it is loaded."""
    size = path.stat().st_size
    dialect = table.dialect
    line = first_line(path)
    has_bom = line.startswith(BOM)
    if has_bom:
        line = line[len(BOM) :]
    if size == 0 or (dialect.header and not line.strip()):
        raise FileError(
            f"{path}: the file is empty (expected a header row)" if dialect.header else f"{path}: the file is empty"
        )
    terminator = "\r\n" if line.endswith(b"\r\n") else "\n"
    columns = _header_columns(path, line, table) if dialect.header else list(table.columns)
    sha256, balanced = checksum_and_quotes(path, dialect.quote)
    return FileInfo(path, size, sha256, has_bom, terminator, columns, balanced)


def _header_columns(path: Path, line: bytes, table: Table) -> list[Column]:
    """Map the header to contract columns; the file may order them differently."""
    dialect = table.dialect
    try:
        text = line.decode(dialect.encoding)
    except UnicodeDecodeError as exc:
        raise FileError(f"{path}: the header is not valid {dialect.encoding}: {exc}") from exc
    header = next(csv.reader([text.rstrip("\r\n")], delimiter=dialect.delimiter, quotechar=dialect.quote))
    by_name = {c.header_name.strip().lower(): c for c in table.columns}
    found = [h.strip().lower() for h in header]
    missing = [c.header_name for c in table.columns if c.header_name.strip().lower() not in found]
    unknown = [h for h in header if h.strip().lower() not in by_name]
    repeated = sorted({h for h in found if found.count(h) > 1})
    if missing or unknown or repeated:
        problems = []
        if missing:
            problems.append(f"missing {missing}")
        if unknown:
            problems.append(f"not in the contract {unknown}")
        if repeated:
            problems.append(f"repeated {repeated}")
        raise FileError(
            f"{path}: the header does not match table {table.name} of the contract ({'; '.join(problems)}). "
            f"Expected the columns {[c.header_name for c in table.columns]} in any order."
        )
    return [by_name[h] for h in found]


def stream_bytes(info: FileInfo) -> Iterator[bytes]:
    """The file's bytes in large chunks, without a leading byte-order mark."""
    with info.path.open("rb") as handle:
        if info.has_bom:
            handle.read(len(BOM))
        while chunk := handle.read(CHUNK):
            yield chunk


@dataclass
class Record:
    line: int  # source line number where the record starts (1-based, the header is line 1)
    raw: bytes  # the record's exact bytes, line terminator included
    fields: list[str]
    problem: str | None  # set when the record cannot even be parsed


def read_records(info: FileInfo, dialect: Dialect) -> Iterator[Record]:
    """Every data record with its line number and raw bytes; malformed ones carry a problem."""
    raw_lines: list[bytes] = []
    bad_encoding: list[str] = []
    lines_read = 0

    def decoded_lines() -> Iterator[str]:
        nonlocal lines_read
        with info.path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if number == 1 and info.has_bom:
                    line = line[len(BOM) :]
                lines_read = number
                raw_lines.append(line)
                try:
                    yield line.decode(dialect.encoding)
                except UnicodeDecodeError as exc:
                    bad_encoding.append(f"invalid {dialect.encoding} bytes at line {number}, byte {exc.start + 1}")
                    yield line.decode(dialect.encoding, "surrogateescape")

    reader = csv.reader(decoded_lines(), delimiter=dialect.delimiter, quotechar=dialect.quote, strict=True)
    if dialect.header:
        next(reader, None)
        raw_lines.clear()
        bad_encoding.clear()
    while True:
        try:
            fields = next(reader)
            problem = bad_encoding[0] if bad_encoding else None
        except StopIteration:
            break
        except csv.Error as exc:
            fields = []
            problem = f"malformed CSV: {exc}"
            if not raw_lines:  # the error came at the end of the file: no record to keep
                break
        start = lines_read - len(raw_lines) + 1
        raw = b"".join(raw_lines)
        yield Record(start, raw, fields, problem)
        raw_lines.clear()
        bad_encoding.clear()
