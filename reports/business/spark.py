"""The marts as the report's temporary views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest.core.lake import parse_lake, spark_location
from reports.business.settings import MARTS, ReportError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def register_marts(spark: SparkSession, lake_uri: str) -> None:
    from pyspark.errors import AnalysisException

    for model in MARTS:
        path = f"{spark_location(parse_lake(lake_uri))}/lakehouse/{model}"
        try:
            frame = spark.read.parquet(path)
        except AnalysisException as exc:  # the folder does not exist, or holds no Parquet
            raise ReportError(
                f"cannot read the mart {model} at {path}: {exc}. Build the marts first "
                "(`dbt build --select +marts`), or point --lake / LAKEHOUSE_LAKE_URI at the right lake."
            ) from exc
        frame.createOrReplaceTempView(model)
