"""The Spark session of the report and the marts as its temporary views."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ingest.lake import parse_lake, spark_location
from ingest.settings import local_dir
from reports.business.settings import MARTS, ReportError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def session() -> tuple[SparkSession, bool]:
    """The active session (spark-submit, a notebook), else a small local one. True if we made it."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder = SparkSession.builder.appName("lakehouse-business-report").config("spark.sql.session.timeZone", "UTC")
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit: a private local[2] session
        state = local_dir().resolve() / "spark-report"
        tmp = state / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        builder = (
            builder.master(os.environ.get("LAKEHOUSE_SPARK_MASTER", "local[2]"))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.memory", "2g")
            .config("spark.local.dir", str(tmp))
            .config("spark.sql.warehouse.dir", str(state / "warehouse"))
            .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={tmp}")
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark, True


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
