"""The reports' Spark session: the one already running (spark-submit, a notebook, an Airflow task
after the dbt build), else a small private local one."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ingest.core.settings import local_dir, settings, spark_events_dir

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def session(app_name: str) -> tuple[SparkSession, bool]:
    """The active session (spark-submit, a notebook), else a small local one. True if we made it."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    builder = SparkSession.builder.appName(app_name).config("spark.sql.session.timeZone", "UTC")
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit: a private local[2] session
        state = local_dir().resolve() / "spark-report"
        tmp = state / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        builder = (
            builder.master(settings().spark_master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.memory", "2g")
            .config("spark.local.dir", str(tmp))
            .config("spark.sql.warehouse.dir", str(state / "warehouse"))
            .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={tmp}")
            .config("spark.eventLog.enabled", "true")  # for Spark's history server (`make spark-history`)
            .config("spark.eventLog.dir", str(spark_events_dir()))
            .config("spark.eventLog.compress", "true")
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark, True
