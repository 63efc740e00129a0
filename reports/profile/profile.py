"""The numbers behind the page, computed by Spark over each table's current rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ingest.core import lake as lakes
from ingest.core.contract import Contract, Table
from ingest.core.types import profile_kind
from ingest.extract.batches import BATCH_PREFIX, DELETED, current_batches

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

BATCH = BATCH_PREFIX.rstrip("=")  # the partition column of the batch folders
BINS = 20  # bars of a number's histogram
TOP = 10  # values shown for a text column


@dataclass
class ColumnProfile:
    name: str
    type: str
    kind: str  # number, text, time or other: which chart it gets
    nulls: int
    distinct: int  # approximate (HyperLogLog)
    low: Any = None
    high: Any = None
    histogram: list[tuple[float, float, int]] = field(default_factory=list)  # (from, to, rows)
    top: list[tuple[str, int]] = field(default_factory=list)  # (value, rows), most frequent first
    series: list[tuple[Any, int]] = field(default_factory=list)  # (day or month, rows)
    series_unit: str = ""


@dataclass
class TableProfile:
    name: str
    rows: int
    batches: int
    columns: list[ColumnProfile] = field(default_factory=list)


def current_rows(spark: SparkSession, lake_uri: str, dataset: str, table: Table) -> tuple[DataFrame, int] | None:
    """The table as readers see it (`ingest.extract.batches`' rule: the latest full batch and the
    incrementals after it, the newest version of each key, tombstones dropped), and its batch count;
    None when the lake holds no committed batch of it."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    lake = lakes.parse_lake(lake_uri)
    batches = current_batches(lake, dataset, table.name)
    if not batches:
        return None
    folder = f"{lakes.spark_location(lake)}/raw/{dataset}/{table.name}"
    paths = [f"{folder}/{batch.prefix.rsplit('/', 1)[-1]}" for batch in batches]  # the batch=<id> folders
    reader = spark.read.option("basePath", folder).option("mergeSchema", "true").option("pathGlobFilter", "*.parquet")
    frame = reader.parquet(*paths)
    if len(batches) > 1 and table.primary_key:
        newest = Window.partitionBy(*table.primary_key).orderBy(F.col(BATCH).desc(), F.col(DELETED).asc())
        frame = frame.withColumn("_rank", F.row_number().over(newest)).where("_rank = 1").drop("_rank")
    if DELETED in frame.columns:
        frame = frame.where(~F.coalesce(F.col(DELETED), F.lit(False)))
    return frame.drop(DELETED, BATCH), len(batches)


def profile_table(spark: SparkSession, lake_uri: str, dataset: str, table: Table) -> TableProfile | None:
    from pyspark.sql import functions as F

    found = current_rows(spark, lake_uri, dataset, table)
    if found is None:
        return None
    frame, batch_count = found
    frame = frame.cache()
    kinds = {c.name: profile_kind(str(c.type)) for c in table.columns if c.name in frame.columns}
    aggregates = [F.count(F.lit(1)).alias("_rows")]
    for name, kind in kinds.items():
        aggregates += [F.count(name).alias(f"{name}__n"), F.approx_count_distinct(name).alias(f"{name}__d")]
        if kind in ("number", "time"):
            aggregates += [F.min(name).alias(f"{name}__lo"), F.max(name).alias(f"{name}__hi")]
    summary = frame.agg(*aggregates).first().asDict()  # type: ignore[union-attr]
    rows = int(summary["_rows"])
    profile = TableProfile(table.name, rows, batch_count)
    for column in table.columns:
        if column.name not in kinds:
            continue
        kind = kinds[column.name]
        item = ColumnProfile(
            column.name,
            str(column.type),
            kind,
            nulls=rows - int(summary[f"{column.name}__n"]),
            distinct=int(summary[f"{column.name}__d"]),
            low=summary.get(f"{column.name}__lo"),
            high=summary.get(f"{column.name}__hi"),
        )
        if kind == "number" and item.low is not None:
            item.histogram = _histogram(frame, column.name, float(item.low), float(item.high))
        elif kind == "text" and rows:
            counted = frame.where(F.col(column.name).isNotNull()).groupBy(column.name).count()
            most = counted.orderBy(F.desc("count"), column.name).limit(TOP).collect()
            if most and most[0][1] > 1:  # when every value is there once, a chart of them says nothing
                item.top = [(str(value), int(count)) for value, count in most]
        elif kind == "time" and item.low is not None:
            item.series_unit = _unit(item.low, item.high)
            bucket = F.date_trunc(item.series_unit, F.col(column.name)).alias("at")
            counted = frame.where(F.col(column.name).isNotNull()).groupBy(bucket).count().orderBy("at")
            item.series = [(r[0], int(r[1])) for r in counted.collect()]
        profile.columns.append(item)
    frame.unpersist()
    return profile


def _histogram(frame: DataFrame, name: str, low: float, high: float) -> list[tuple[float, float, int]]:
    """`BINS` equal-width bars from the lowest to the highest value (one bar when all are equal)."""
    from pyspark.sql import functions as F

    if high <= low:
        count = frame.where(F.col(name).isNotNull()).count()
        return [(low, high, count)]
    width = (high - low) / BINS
    index = F.least(F.floor((F.col(name).cast("double") - low) / width), F.lit(BINS - 1)).cast("int")
    counted: dict[int, int] = dict(frame.where(F.col(name).isNotNull()).groupBy(index.alias("bin")).count().collect())
    return [(low + i * width, low + (i + 1) * width, int(counted.get(i, 0))) for i in range(BINS)]


def _unit(low: date, high: date) -> str:
    """Days for up to about four months of data, else months, else years."""
    days = (_day(high) - _day(low)).days
    return "day" if days <= 120 else "month" if days <= 365 * 8 else "year"


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def profile_dataset(spark: SparkSession, lake_uri: str, contract: Contract) -> list[TableProfile]:
    """Every table of the contract that the lake holds a committed batch of."""
    found = (profile_table(spark, lake_uri, contract.dataset, table) for table in contract.tables)
    return [profile for profile in found if profile is not None]
