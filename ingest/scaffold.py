"""`lakehouse-ingest scaffold`: the dbt layer of a dataset, written from its contract.

For a contract `shop` it writes, under `dbt_project/models/staging/shop/`, in the project's style:
- `_shop__sources.yml`: the lake source (meta `lake_dataset`, a freshness rule from the manifests,
  each table's columns with their types);
- `stg_shop__<table>.sql`: the committed rows, snake_case names, exact types, CTE style;
- `stg_shop__<table>.yml`: the model's description and columns, tests (the primary key unique and
  not null, accepted values for low-cardinality text, relationships where a column is another
  table's key) and governance meta. What only a person can say is a `TODO:` placeholder, which the
  policy check (`lakehouse-governance check`) refuses until it is filled.

With `--source DIR` (the CSV files) the values are looked at too: low-cardinality text columns and
personal columns (e-mails, phone numbers, person names, addresses) are found from names and values.

A re-run never overwrites a file: it writes what is new (a new table) and reports what differs
between an existing file and what it would write now, so a person's edits stay.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ingest.core.contract import Column, Contract, Table
from ingest.core.personal import NOT_PERSON_VALUES, SHARE, personal_words, value_kind
from ingest.core.types import family, spark_type

PLACEHOLDER = "TODO:"
ACCEPTED_VALUES_MAX = 10  # distinct values at most for an accepted_values test
SAMPLE_ROWS = 100_000
GENERIC_KEYS = {"id", "key", "code", "name", "uuid", "pk"}
# Spark's reserved words (ANSI mode, the default from Spark 4): column names that need backquotes.
SPARK_RESERVED = frozenset(
    {
        "ALL", "AND", "ANY", "AS", "AUTHORIZATION", "BOTH", "CASE", "CAST", "CHECK", "COLLATE", "COLUMN", "CONSTRAINT",
        "CREATE", "CROSS", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "CURRENT_USER", "DISTINCT", "ELSE",
        "END", "ESCAPE", "EXCEPT", "FALSE", "FETCH", "FILTER", "FOR", "FOREIGN", "FROM", "FULL", "GRANT", "GROUP",
        "HAVING", "IN", "INNER", "INTERSECT", "INTO", "IS", "JOIN", "LATERAL", "LEADING", "LEFT", "NATURAL", "NOT",
        "NULL", "OFFSET", "ON", "ONLY", "OR", "ORDER", "OUTER", "OVERLAPS", "PRIMARY", "REFERENCES", "RIGHT", "SELECT",
        "SESSION_USER", "SOME", "TABLE", "THEN", "TIME", "TO", "TRAILING", "TRUE", "UNION", "UNIQUE", "UNKNOWN",
        "USER", "USING", "WHEN", "WHERE", "WITH",
    }
)  # fmt: skip


def snake_case(column: Column) -> str:
    """snake_case from the CSV header (or the contract name): `CustomerID` -> `customer_id`."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column.header_name)
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return text if text and not text[0].isdigit() else column.name


def business_names(table: Table) -> dict[str, str]:
    """Each column's name in the staging model: its snake_case header, or its contract name (unique
    by the contract) where two headers give the same one (`Order ID` and `order_id`)."""
    wanted = {c.name: snake_case(c) for c in table.columns}
    taken = [name for name in wanted.values()]
    return {c: (name if taken.count(name) == 1 else c) for c, name in wanted.items()}


def business_name(table: Table, column: Column) -> str:
    return business_names(table)[column.name]


def sql_identifier(name: str) -> str:
    """A name as Spark SQL reads it: backquoted when it is a reserved word or not a plain name."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name.upper() not in SPARK_RESERVED:
        return name
    return "`" + name.replace("`", "``") + "`"


def singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def references(contract: Contract, table: Table, column: Column) -> Table | None:
    """The other table whose single-column key this column holds: the same name (`carrier`), or
    the table's singular name with its key (`customer_id` for customers' `id`). A generic key name
    (`id`) alone proves nothing, nor does a column that is its own table's key."""
    if table.primary_key == [column.name]:
        return None
    for other in contract.tables:
        if other.name == table.name or len(other.primary_key) != 1:
            continue
        key = other.primary_key[0]
        same = column.name == key and key not in GENERIC_KEYS
        if same or column.name in (f"{singular(other.name)}_{key}", f"{singular(other.name)}{key}"):
            return other
    return None


@dataclass
class Profile:
    """What the CSV values of one column show: its few distinct values, and how they look."""

    distinct: set[str] = field(default_factory=set)
    many: bool = False
    seen: int = 0
    looks: dict[str, int] = field(default_factory=dict)

    def add(self, value: str) -> None:
        self.seen += 1
        if not self.many:
            self.distinct.add(value)
            self.many = len(self.distinct) > ACCEPTED_VALUES_MAX
        kind = value_kind(value)
        if kind is not None:
            self.looks[kind] = self.looks.get(kind, 0) + 1

    def personal_kind(self) -> str | None:
        """The kind most values look like (e-mail, phone, person name, address), if most do."""
        if not self.seen:
            return None
        kind, count = max(self.looks.items(), key=lambda item: item[1], default=("", 0))
        return kind if count >= SHARE * self.seen else None


def profile_table(table: Table, source: Path) -> dict[str, Profile]:
    """Profiles of a table's columns from its CSV files (the first SAMPLE_ROWS rows)."""
    profiles = {c.name: Profile() for c in table.columns}
    tokens = set(table.dialect.null_tokens)
    rows = 0
    for path in sorted(source.glob(table.files)):
        encoding = "utf-8-sig" if table.dialect.encoding.lower() in ("utf-8", "utf8") else table.dialect.encoding
        with path.open(encoding=encoding, newline="") as handle:  # utf-8-sig: a BOM is not the header's
            reader = csv.DictReader(handle, delimiter=table.dialect.delimiter, quotechar=table.dialect.quote)
            for record in reader:
                rows += 1
                if rows > SAMPLE_ROWS:
                    return profiles
                for column in table.columns:
                    value = record.get(column.header_name)
                    if value is not None and value not in tokens:
                        profiles[column.name].add(value)
    return profiles


def personal_reason(column: Column, profile: Profile | None) -> str | None:
    """Why a column looks personal (its name or its values), or None."""
    words = personal_words(snake_case(column))
    if words:
        return f"its name ({', '.join(sorted(words))})"
    if family(column.type) != "text":  # "41.13" is a latitude, not a phone number
        return None
    kind = profile.personal_kind() if profile is not None else None
    if kind == "person" and set(snake_case(column).split("_")) & NOT_PERSON_VALUES:
        return None
    return f"its values look like {kind}s" if kind else None


def _column_doc(contract: Contract, table: Table, column: Column, profile: Profile | None) -> dict[str, object]:
    name = business_name(table, column)
    reason = personal_reason(column, profile)
    doc: dict[str, object] = {
        "name": name,
        "description": column.description or f"{PLACEHOLDER} what {name} holds (CSV column {column.header_name!r}).",
        "data_type": spark_type(column.type),
    }
    tests: list[object] = []
    if table.primary_key == [column.name]:
        tests += ["unique", "not_null"]
    elif not column.nullable:
        tests.append("not_null")
    if (
        profile is not None
        and spark_type(column.type) == "string"
        and not profile.many
        and profile.distinct
        and profile.seen > 2 * len(profile.distinct)
        and table.primary_key != [column.name]
        and not reason  # personal values never go into a file committed to git
    ):
        tests.append({"accepted_values": {"arguments": {"values": sorted(profile.distinct)}}})
    other = references(contract, table, column)
    if other is not None:
        field = business_name(other, other.column(other.primary_key[0]))
        to = f"ref('stg_{contract.dataset}__{other.name}')"
        tests.append({"relationships": {"arguments": {"to": to, "field": field}}})
    if tests:
        doc["data_tests"] = tests
    if sql_identifier(name) != name:
        doc["quote"] = True  # dbt's tests then backquote it, as the model does
    if reason:
        doc["config"] = {"meta": {"contains_pii": True}}
        doc["description"] = f"{doc['description']} Personal data ({reason})."
    return doc


def model_yaml(contract: Contract, table: Table, profiles: dict[str, Profile] | None) -> str:
    model: dict[str, object] = {
        "name": f"stg_{contract.dataset}__{table.name}",
        "description": (table.description or f"{PLACEHOLDER} what one row of {table.name} is.")
        + f" Staged from source {contract.dataset}.{table.name}: the rows of the committed batches, renamed.",
        "config": {
            "tags": [contract.dataset],  # the dataset's pipeline builds `--select tag:<dataset>+`
            "meta": {
                "owner": f"{PLACEHOLDER} the team that answers for it",
                "domain": f"{PLACEHOLDER} the business domain",
                "tier": "silver",
                "access": "restricted",
            },
        },
        "columns": [_column_doc(contract, table, c, profiles.get(c.name) if profiles else None) for c in table.columns],
    }
    if len(table.primary_key) > 1:
        keys = [business_name(table, table.column(k)) for k in table.primary_key]
        model["data_tests"] = [{"unique_combination": {"arguments": {"columns": keys}}}]
    header = "# Written by `lakehouse-ingest scaffold`; yours to edit (a re-run never overwrites it).\n"
    return header + yaml.safe_dump({"version": 2, "models": [model]}, sort_keys=False, width=110)


def sources_yaml(contract: Contract) -> str:
    dataset = contract.dataset
    tables = []
    for table in contract.tables:
        entry: dict[str, object] = {
            "name": table.name,
            "description": table.description or f"{PLACEHOLDER} what one row of {table.name} is.",
            "config": {
                "loaded_at_query": f"select max(to_timestamp(committed_at)) from raw_{dataset}.{table.name}__manifests"
            },
            "columns": [
                {
                    "name": c.name,
                    "description": c.description or f"CSV column {c.header_name!r}.",
                    "data_type": spark_type(c.type),
                }
                for c in table.columns
            ]
            + [{"name": "batch", "description": '{{ doc("extract_batch") }}', "data_type": "string"}],
        }
        tables.append(entry)
    source = {
        "name": dataset,
        "description": (contract.description or dataset)
        + f" As extracted from MySQL into the lake's raw zone (`<lake>/raw/{dataset}/<table>/`).",
        "schema": f"raw_{dataset}",
        "meta": {"lake_dataset": dataset},
        "config": {
            "freshness": {"warn_after": {"count": 1, "period": "day"}, "error_after": {"count": 7, "period": "day"}}
        },
        "tables": tables,
    }
    header = "# Written by `lakehouse-ingest scaffold` from the contract; yours to edit.\n"
    return header + yaml.safe_dump({"version": 2, "sources": [source]}, sort_keys=False, width=110)


def model_sql(contract: Contract, table: Table) -> str:
    keys = table.primary_key
    key_arg = "none" if not keys else repr(keys[0]) if len(keys) == 1 else "[" + ", ".join(map(repr, keys)) + "]"
    lines, names = [], business_names(table)
    for column in table.columns:
        target = spark_type(column.type)
        source = sql_identifier(column.name)
        expression = f"cast({source} as {target})" if target.startswith("decimal") else source
        name = sql_identifier(names[column.name])
        lines.append(f"        {expression}" + ("" if expression == name else f" as {name}"))
    grain = ", ".join(table.primary_key) if table.primary_key else "row of the newest snapshot (no key)"
    return (
        f"-- {contract.dataset}.{table.name}: one row per {grain}; snake_case names, exact types.\n"
        "with\n\n"
        "source as (\n"
        f"    {{{{ committed_rows('{contract.dataset}', '{table.name}', {key_arg}) }}}}\n"
        "),\n\n"
        "renamed as (\n"
        "    select\n" + ",\n".join(lines) + "\n"
        "    from source\n"
        ")\n\n"
        "select * from renamed\n"
    )


@dataclass
class ScaffoldReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    differs: dict[Path, str] = field(default_factory=dict)  # file -> a unified diff of what would change


def planned_files(contract: Contract, source: Path | None) -> Iterator[tuple[str, str]]:
    yield f"_{contract.dataset}__sources.yml", sources_yaml(contract)
    for table in contract.tables:
        profiles = profile_table(table, source) if source is not None else None
        yield f"stg_{contract.dataset}__{table.name}.sql", model_sql(contract, table)
        yield f"stg_{contract.dataset}__{table.name}.yml", model_yaml(contract, table, profiles)


def scaffold(contract: Contract, models_dir: Path, source: Path | None = None) -> ScaffoldReport:
    """Write the dataset's staging layer under `models_dir/staging/<dataset>/`, keeping existing files."""
    folder = models_dir / "staging" / contract.dataset
    folder.mkdir(parents=True, exist_ok=True)
    report = ScaffoldReport()
    for name, text in planned_files(contract, source):
        path = folder / name
        if not path.exists():
            path.write_text(text, encoding="utf-8")
            report.written.append(path)
            continue
        current = path.read_text(encoding="utf-8")
        if current == text:
            report.unchanged.append(path)
        else:
            diff = difflib.unified_diff(
                current.splitlines(), text.splitlines(), f"{name} (yours)", f"{name} (from the contract)", lineterm=""
            )
            report.differs[path] = "\n".join(diff)
    return report
