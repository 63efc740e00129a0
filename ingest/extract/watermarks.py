"""Cursor values as text and back: a batch's watermark is stored in its manifest (and the audit
table) as text, and the next incremental extract binds it again as a typed value of its column."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ingest.core.contract import SqlType
from ingest.core.types import family


def encode_value(value: object) -> str:
    """A cursor value as text for the manifest and the audit table (ISO for dates and times)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def decode_value(text: str, sql_type: SqlType) -> object:
    """The inverse of `encode_value` for a column of the contract: a typed value to bind."""
    kind = family(sql_type)
    if kind in ("integer", "boolean"):
        return int(text)
    if kind == "decimal":
        return Decimal(text)
    if kind == "double":
        return float(text)  # str(float) round-trips exactly
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "datetime":
        return datetime.fromisoformat(text)
    return text
