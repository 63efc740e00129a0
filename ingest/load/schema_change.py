"""A contract change, compared with what MySQL stores before a load writes anything.

The stored side is the published table itself (`information_schema`): its columns, types,
nullability and primary key are what every earlier load left, whatever contract file produced it.
Each difference is classified:

- additive, applied: a new nullable column; a widened type (a longer CHAR/VARCHAR or TEXT, a wider
  integer, more DECIMAL digits on either side of the point, more fractional seconds, DATE to
  DATETIME); NOT NULL relaxed to NULL; a rename (`renamed_from:`, or a new name whose `header:`
  is the stored column's name), which keeps the stored values under the new name;
- lossy, refused unless allowed (`--allow-lossy TABLE.COLUMN`, or `TABLE` for every change of a
  table): a narrowed or changed type, a dropped column, NULL tightened to NOT NULL, a new NOT NULL
  column an upsert's stored rows have no value for, a changed primary key.

The loader applies the changes in the table it stages (an upsert's stored rows are copied under
the new definition), so they are published with the data in one RENAME, and records each one in
`lakehouse_audit.schema_changes`, with the stored values a lossy one changed or dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pymysql.connections import Connection

from ingest.core.contract import Column, SqlType, Table
from ingest.core.errors import DataError
from ingest.core.mysql import quote_identifier
from ingest.core.types import INTEGER_RANGES

_STORED_TYPE = re.compile(r"^(?P<base>[a-z]+)(?:\((?P<a>\d+)(?:,(?P<b>\d+))?\))?")
_INTEGERS = list(INTEGER_RANGES)  # narrowest first
_TEXT = ("CHAR", "VARCHAR", "TEXT")
TEXT_CHARACTERS = 16383  # what a utf8mb4 TEXT column always holds (65,535 bytes)


class LossyChange(DataError):
    """The contract changes a stored table in a way that loses or changes stored values."""


@dataclass(frozen=True)
class StoredColumn:
    name: str
    type: SqlType
    nullable: bool


@dataclass(frozen=True)
class StoredTable:
    columns: dict[str, StoredColumn]
    primary_key: list[str]


@dataclass(frozen=True)
class Change:
    """One difference between the stored table and the contract's."""

    table: str
    kind: str  # added, widened, relaxed, renamed, narrowed, dropped, tightened, required, rekeyed
    column: str | None  # None for the primary key
    old: str | None
    new: str | None
    source: str | None = None  # the stored column the new one takes its values from

    @property
    def lossy(self) -> bool:
        return self.kind in ("narrowed", "dropped", "tightened", "required", "rekeyed")

    def describe(self) -> str:
        what = f"{self.table}.{self.column}" if self.column else f"{self.table}'s primary key"
        text = {
            "added": f"{what} added ({self.new})",
            "widened": f"{what} widened from {self.old} to {self.new}",
            "relaxed": f"{what} may now be NULL",
            "renamed": f"{self.table}.{self.source} renamed to {self.column}",
            "narrowed": f"{what} changed from {self.old} to {self.new} (stored values may not fit)",
            "dropped": f"{what} ({self.old}) dropped: its stored values would be lost",
            "tightened": f"{what} made NOT NULL (stored NULLs would not fit)",
            "required": f"{what} added as NOT NULL ({self.new}): stored rows have no value for it",
            "rekeyed": f"{what} changed from ({self.old}) to ({self.new})",
        }[self.kind]
        if self.kind == "renamed" and self.old != self.new:
            text += f", and from {self.old} to {self.new}"
        return text

    def allowed_by(self, allowed: set[str]) -> bool:
        return self.table in allowed or (self.column is not None and f"{self.table}.{self.column}" in allowed)


def stored_table(conn: Connection, database: str, table: str) -> StoredTable | None:  # type: ignore[type-arg]
    """The published table's definition, or None when there is none yet."""
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, column_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (database, table),
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT column_name FROM information_schema.statistics WHERE table_schema = %s "
            "AND table_name = %s AND index_name = 'PRIMARY' ORDER BY seq_in_index",
            (database, table),
        )
        key = [str(r[0]) for r in cursor.fetchall()]
    if not rows:
        return None
    columns = {str(name): StoredColumn(str(name), parse_stored_type(str(kind)), nullable == "YES")
               for name, kind, nullable in rows}  # fmt: skip
    return StoredTable(columns, key)


def parse_stored_type(column_type: str) -> SqlType:
    """MySQL's `column_type` (e.g. `decimal(12,4)`, `tinyint(1)`, `int(11)`) as a contract type."""
    match = _STORED_TYPE.match(column_type.lower())
    if not match:
        return SqlType(base=column_type.upper())
    base, a, b = match["base"].upper(), match["a"], match["b"]
    if base == "TINYINT" and a == "1":
        return SqlType(base="BOOLEAN")  # the loader stores BOOLEAN as TINYINT(1)
    if base in _INTEGERS or base in ("DOUBLE", "DATE", "TEXT"):
        return SqlType(base=base)
    if base == "DECIMAL":
        return SqlType(base=base, precision=int(a or 10), scale=int(b or 0))
    if base in ("CHAR", "VARCHAR"):
        return SqlType(base=base, precision=int(a or 1))
    if base in ("DATETIME", "TIMESTAMP"):
        return SqlType(base="DATETIME", precision=int(a or 0))
    return SqlType(base=base)  # not a type the loader writes: any contract type differs from it


def widens(old: SqlType, new: SqlType) -> bool:
    """Whether every value of `old` is a value of `new`, unchanged (equal types included)."""
    if old.base == "TIMESTAMP" or new.base == "TIMESTAMP":  # both are stored as DATETIME
        old, new = (SqlType(base="DATETIME", precision=t.precision) if t.base == "TIMESTAMP" else t for t in (old, new))
    if old == new:
        return True
    if old.base in _INTEGERS:
        if new.base in _INTEGERS:
            return _INTEGERS.index(new.base) >= _INTEGERS.index(old.base)
        digits = len(str(INTEGER_RANGES[old.base][1]))
        if new.base == "DECIMAL":
            return (new.precision or 0) - (new.scale or 0) >= digits
        return new.base == "DOUBLE" and old.base != "BIGINT"  # a double holds every integer up to 2**53
    if old.base == "DECIMAL" and new.base == "DECIMAL":
        assert old.precision is not None and old.scale is not None and new.precision is not None
        assert new.scale is not None
        return new.scale >= old.scale and new.precision - new.scale >= old.precision - old.scale
    if old.base in _TEXT and new.base in _TEXT:
        length = {"TEXT": TEXT_CHARACTERS}
        old_length = length.get(old.base, old.precision or 0)
        new_length = length.get(new.base, new.precision or 0)
        if old.base == "VARCHAR" and new.base == "CHAR":
            return False  # CHAR drops trailing spaces a VARCHAR keeps
        return new_length >= old_length
    if old.base == "DATETIME" and new.base == "DATETIME":
        return (new.precision or 0) >= (old.precision or 0)
    return old.base == "DATE" and new.base == "DATETIME"


def rename_source(column: Column, stored: StoredTable, table: Table) -> str | None:
    """The stored column a contract column takes its values from under another name, if any."""
    names = {c.name for c in table.columns}
    for candidate in (column.renamed_from, column.header):
        if candidate and candidate != column.name and candidate in stored.columns and candidate not in names:
            return candidate
    return None


def compare(stored: StoredTable, table: Table) -> list[Change]:
    """Every difference between the stored table and the contract's (see the module docstring)."""
    changes: list[Change] = []
    used: set[str] = set()
    for column in table.columns:
        source = column.name if column.name in stored.columns else rename_source(column, stored, table)
        if source is None:
            kind = "required" if not column.nullable and table.mode == "upsert" else "added"
            changes.append(Change(table.name, kind, column.name, None, str(column.type)))
            continue
        used.add(source)
        held = stored.columns[source]
        if source != column.name:
            changes.append(Change(table.name, "renamed", column.name, str(held.type), str(column.type), source))
        if held.type.sql() != column.type.sql():  # TIMESTAMP is stored as DATETIME: no change
            kind = "widened" if widens(held.type, column.type) else "narrowed"
            changes.append(Change(table.name, kind, column.name, str(held.type), str(column.type), source))
        if held.nullable != column.nullable:
            kind = "relaxed" if column.nullable else "tightened"
            changes.append(Change(table.name, kind, column.name, None, None, source))
    for name, held in stored.columns.items():
        if name not in used:
            changes.append(Change(table.name, "dropped", name, str(held.type), None, name))
    if stored.primary_key != list(table.primary_key):
        old, new = ", ".join(stored.primary_key) or "none", ", ".join(table.primary_key) or "none"
        changes.append(Change(table.name, "rekeyed", None, old, new))
    return changes


def refuse_lossy(changes: list[Change], allowed: set[str]) -> None:
    """Raise one error naming every lossy change `allowed` does not cover."""
    refused = [c for c in changes if c.lossy and not c.allowed_by(allowed)]
    if not refused:
        return
    flags = " ".join(f"--allow-lossy {c.table}.{c.column}" if c.column else f"--allow-lossy {c.table}" for c in refused)
    raise LossyChange(
        "the contract changes stored data: "
        + "; ".join(c.describe() for c in refused)
        + f". Nothing was changed. Revert the contract, or accept the loss with {flags} (recorded in "
        "lakehouse_audit.schema_changes)"
    )


def source_expression(column: Column, stored: StoredTable | None, table: Table) -> str | None:
    """The stored column (quoted) a contract column's values come from, or None for a new column."""
    if stored is None:
        return None
    if column.name in stored.columns:
        return quote_identifier(column.name)
    source = rename_source(column, stored, table)
    return quote_identifier(source) if source else None
