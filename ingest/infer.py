"""Write a contract for a folder of CSV files a user brings: types, null tokens, keys.

Every value of every file is read (type inference on a sample would let the first row that does
not fit be rejected at load time). The result is a starting point the user may edit.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.core.contract import Column, Contract, Dialect, SqlType, Table, reserved_column_name
from ingest.load.validate import BOOLEAN_FALSE, BOOLEAN_TRUE

NULL_CANDIDATES = ("", "NA", "N/A", "n/a", "NULL", "null", "None", "NaN", "nan", "\\N")
DELIMITERS = ",;\t|"
MAX_VARCHAR = 16383
ROW_BYTES = 65_535 - 1_024  # MySQL's row size limit, with room for the other columns' overhead
MAX_KEY_COLUMNS_SCANNED = 4

_INT = re.compile(r"^[+-]?(0|[1-9]\d*)$")
_DEC = re.compile(r"^[+-]?(0|[1-9]\d*)?\.(\d+)$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,6}))?(Z)?$")
_BOOL_WORDS = {w for w in BOOLEAN_TRUE + BOOLEAN_FALSE if not w.isdigit()}


@dataclass
class _ColumnStats:
    """What one column's values allow, narrowed as values are read."""

    header: str
    kinds: set[str] = field(default_factory=lambda: {"bool", "int", "decimal", "double", "date", "datetime"})
    token_counts: dict[str, int] = field(default_factory=dict)
    values: int = 0
    max_length: int = 0
    int_digits: int = 0
    scale: int = 0
    fraction_digits: int = 0
    max_abs_int: int = 0
    unique: set[str] | None = field(default_factory=set)

    def add(self, value: str) -> None:
        if value in NULL_CANDIDATES:
            self.token_counts[value] = self.token_counts.get(value, 0) + 1
            return
        self.values += 1
        self.max_length = max(self.max_length, len(value))
        if self.unique is not None:
            if value in self.unique:
                self.unique = None  # a duplicate: not a key, stop remembering
            else:
                self.unique.add(value)
        if len(self.kinds) > 0:
            self._narrow(value)

    def _narrow(self, value: str) -> None:
        kinds = self.kinds
        if "bool" in kinds and value.lower() not in _BOOL_WORDS:
            kinds.discard("bool")
        if "int" in kinds or "decimal" in kinds:
            if _INT.match(value):
                digits = len(value.lstrip("+-"))
                self.int_digits = max(self.int_digits, digits)
                self.max_abs_int = max(self.max_abs_int, abs(int(value)))
            elif (match := _DEC.match(value)) is not None:
                kinds.discard("int")
                self.int_digits = max(self.int_digits, len(match[1] or "0"))
                self.scale = max(self.scale, len(match[2]))
            else:
                kinds.discard("int")
                kinds.discard("decimal")
        if "double" in kinds and not (_FLOAT.match(value) or _INT.match(value) or _DEC.match(value)):
            kinds.discard("double")
        if "date" in kinds and not _valid_date(value):
            kinds.discard("date")
        if "datetime" in kinds:
            match = _DATETIME.match(value)
            if (match and _valid_datetime(match)) or _valid_date(value):
                if match and match[3]:
                    self.fraction_digits = max(self.fraction_digits, len(match[3]))
            else:
                kinds.discard("datetime")

    def sql_type(self) -> SqlType:
        kinds = self.kinds
        if self.values == 0:
            return SqlType.parse("VARCHAR(255)")
        if "bool" in kinds:
            return SqlType.parse("BOOLEAN")
        if "int" in kinds and self.int_digits <= 19 and self.max_abs_int <= 2**63 - 1:
            return SqlType.parse("INT" if self.max_abs_int < 2**31 - 1 else "BIGINT")
        if ("int" in kinds or "decimal" in kinds) and self.int_digits + self.scale <= 65 and self.scale <= 30:
            return SqlType.parse(f"DECIMAL({max(1, self.int_digits + self.scale)},{self.scale})")
        if "double" in kinds:
            return SqlType.parse("DOUBLE")
        if "date" in kinds:
            return SqlType.parse("DATE")
        if "datetime" in kinds:
            return SqlType.parse(f"DATETIME({self.fraction_digits})" if self.fraction_digits else "DATETIME")
        return SqlType.parse(f"VARCHAR({max(1, self.max_length)})" if self.max_length <= MAX_VARCHAR else "TEXT")

    @property
    def typed(self) -> bool:
        return self.values > 0 and self.sql_type().base not in ("CHAR", "VARCHAR", "TEXT")


def _valid_date(value: str) -> bool:
    if not _DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _valid_datetime(match: re.Match[str]) -> bool:
    try:
        dt.datetime.fromisoformat(f"{match[1]} {match[2]}")
    except ValueError:
        return False
    return True


def identifier_from(text: str, fallback: str) -> str:
    """A safe, snake_case identifier for a file or header name."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", text.strip()).strip("_").lower()
    if not name:
        name = fallback
    if name[0].isdigit():
        name = f"_{name}"
    return name[:58]


def detect_encoding(path: Path) -> tuple[str, bool]:
    """(encoding, has_bom): UTF-8 when every byte decodes, else Windows-1252, else Latin-1."""
    data = path.read_bytes()
    has_bom = data.startswith(codecs.BOM_UTF8)
    for encoding in ("utf-8", "cp1252"):
        try:
            data.decode(encoding)
            return encoding, has_bom
        except UnicodeDecodeError:
            continue
    return "latin1", has_bom


def detect_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        return max(DELIMITERS, key=first.count)


@dataclass
class _Scan:
    """Everything read from one file, before the folder's null tokens are decided."""

    path: Path
    encoding: str
    delimiter: str
    header: list[str]
    stats: list[_ColumnStats]
    pair_values: dict[tuple[int, int], set[tuple[str, str]] | None]
    rows: int
    notes: list[str]


def _scan(path: Path) -> _Scan:
    notes: list[str] = []
    encoding, has_bom = detect_encoding(path)
    text_encoding = "utf-8-sig" if has_bom else encoding
    with path.open(encoding=text_encoding, newline="") as handle:
        delimiter = detect_delimiter(handle.read(65536))
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter, quotechar='"')
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path}: the file is empty; a header row is needed to name the columns")
        stats = [_ColumnStats(h) for h in header]
        pairs = list(itertools.combinations(range(min(len(header), MAX_KEY_COLUMNS_SCANNED)), 2))
        pair_values: dict[tuple[int, int], set[tuple[str, str]] | None] = {p: set() for p in pairs}
        rows = ragged = 0
        for record in reader:
            if len(record) != len(header):
                ragged += 1
                continue
            rows += 1
            for column, value in zip(stats, record, strict=True):
                column.add(value)
            for pair, seen in pair_values.items():
                if seen is not None:
                    pair_values[pair] = _add(seen, (record[pair[0]], record[pair[1]]))
    if ragged:
        notes.append(f"{path.name}: {ragged} row(s) with a wrong number of fields were ignored for inference")
    return _Scan(path, encoding, delimiter, header, stats, pair_values, rows, notes)


def folder_null_tokens(scans: list[_Scan]) -> tuple[list[str], str, list[str]]:
    """The null tokens of a folder, why, and what a person should review.

    Files written by one tool share one convention (R writes NA for every missing value), so a
    token is NULL everywhere in the folder when, in any file, it stands in a typed column (where it
    cannot be data) or fills a column on its own; the empty field is NULL wherever it appears. A text column
    that holds the token among its values (NA for Namibia, None as an answer) is named for review.
    """
    evidence: dict[str, list[str]] = {}
    for scan in scans:
        for column in scan.stats:
            for token in column.token_counts:
                if token != "" and (column.typed or column.values == 0):
                    evidence.setdefault(token, []).append(f"{scan.path.name}:{column.header}")
    empty = any("" in column.token_counts for scan in scans for column in scan.stats)
    tokens = sorted({*evidence, *([""] if empty else [])})
    reasons = [
        f"{token!r} stands for a missing value in {len(places)} typed or empty column(s), e.g. {', '.join(places[:3])}"
        for token, places in sorted(evidence.items())
    ]
    parts = (["the empty field"] if empty else []) + reasons
    why = "Null tokens for the whole folder: " + ("; ".join(parts) if parts else "none") + "."
    review = [
        f"{scan.path.name}: column {column.header!r} holds {token!r} among its text values; "
        f"the folder's convention reads it as NULL: set this table's null_tokens if it is data"
        for scan in scans
        for column in scan.stats
        for token in column.token_counts
        if token in evidence and not column.typed and column.values
    ]
    return tokens, why, review


def _table(scan: _Scan, null_tokens: list[str], why: str) -> Table:
    stats, rows = scan.stats, scan.rows
    columns = _columns(scan.header, stats, null_tokens)
    columns = _fit_row_size(columns, scan)
    key = _primary_key(stats, columns, scan.pair_values, set(null_tokens), rows)
    name = identifier_from(scan.path.stem, "table")
    cursor = next((c.name for c in columns if c.name in ("updated_at", "modified_at", "last_modified")), None)
    if not key:
        scan.notes.append(f"{name}: no unique column or pair of columns found; no primary key proposed")
    return Table(
        name=name,
        files=scan.path.name,
        dialect=Dialect(delimiter=scan.delimiter, encoding=scan.encoding, null_tokens=null_tokens),  # type: ignore[arg-type]
        columns=columns,
        primary_key=key,
        cursor=cursor,
        description=f"Inferred from {scan.path.name} ({rows} rows). {why}",
    )


def _fit_row_size(columns: list[Column], scan: _Scan) -> list[Column]:
    """VARCHARs widened to TEXT, widest first, until the row fits MySQL's 65,535 bytes (a VARCHAR
    counts 4 bytes a character in utf8mb4, a TEXT about 12): wide exports with many empty columns."""

    def size(c: Column) -> int:
        return 4 * (c.type.precision or 0) + 2 if c.type.base in ("VARCHAR", "CHAR") else 16

    widened = []
    by_width = sorted(range(len(columns)), key=lambda i: -size(columns[i]))
    for i in by_width:
        if sum(size(c) for c in columns) <= ROW_BYTES or columns[i].type.base not in ("VARCHAR", "CHAR"):
            break
        columns[i] = columns[i].model_copy(update={"type": SqlType.parse("TEXT")})
        widened.append(columns[i].name)
    if widened:
        scan.notes.append(
            f"{scan.path.name}: {len(widened)} text column(s) made TEXT to fit MySQL's row size: {', '.join(widened)}"
        )
    return columns


def infer_table(path: Path) -> tuple[Table, list[str]]:
    """A contract table for one CSV file, and notes for the user about what was seen."""
    scan = _scan(path)
    tokens, why, review = folder_null_tokens([scan])
    table = _table(scan, tokens, why)
    return table, scan.notes + review


def _add(seen: set[tuple[str, str]], key: tuple[str, str]) -> set[tuple[str, str]] | None:
    if key in seen:
        return None
    seen.add(key)
    return seen


def _columns(header: list[str], stats: list[_ColumnStats], null_tokens: list[str]) -> list[Column]:
    columns, used = [], set()
    for position, (raw, column) in enumerate(zip(header, stats, strict=True)):
        name = identifier_from(raw, f"column_{position + 1}")
        if reserved_column_name(name):  # `batch`, `_lh_*`: the lake's own columns
            name = f"{name.strip('_')}_column"[:58]
        while name in used:
            name = f"{name}_{position + 1}"[:58]
        used.add(name)
        sql_type = column.sql_type()
        if column.values and sql_type.base in ("VARCHAR", "TEXT"):
            # Tokens that are not NULL here are text values; they may be longer than the rest.
            extra = [t for t in column.token_counts if t not in null_tokens]
            if extra and sql_type.base == "VARCHAR":
                sql_type = SqlType.parse(f"VARCHAR({max([sql_type.precision or 1] + [len(t) for t in extra])})")
        nullable = any(t in null_tokens for t in column.token_counts)
        columns.append(
            Column(
                name=name,
                type=sql_type,
                nullable=nullable,
                header=None if raw == name else raw,
            )
        )
    return columns


def _primary_key(
    stats: list[_ColumnStats],
    columns: list[Column],
    pairs: dict[tuple[int, int], set[tuple[str, str]] | None],
    null_tokens: set[str],
    rows: int,
) -> list[str]:
    if rows == 0:
        return []

    def usable(i: int) -> bool:
        return not columns[i].nullable and columns[i].type.base not in ("DOUBLE", "TEXT")

    singles = [i for i, s in enumerate(stats) if s.unique is not None and usable(i) and s.values == rows]
    if singles:
        keyish = [i for i in singles if columns[i].name.endswith(("id", "key"))]
        return [columns[(keyish or singles)[0]].name]
    for (a, b), seen in pairs.items():
        if seen is not None and usable(a) and usable(b):
            return [columns[a].name, columns[b].name]
    return []


def infer_contract(source: Path, dataset: str) -> tuple[Contract, list[str]]:
    files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".tsv", ".txt"))
    if not files:
        raise ValueError(f"no .csv, .tsv or .txt files in {source}")
    scans = [_scan(path) for path in files]
    tokens, why, review = folder_null_tokens(scans)
    tables, notes, names = [], [], set()
    for scan in scans:
        table = _table(scan, tokens, why)
        if table.name in names:
            raise ValueError(f"two files map to the same table name {table.name!r}; rename one of them")
        names.add(table.name)
        tables.append(table)
        notes.extend(scan.notes)
    return Contract(dataset=dataset, tables=tables, description=f"Inferred from {source.name}."), notes + review
