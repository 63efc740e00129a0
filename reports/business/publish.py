"""Writing the page where readers find it: atomically on a disk, checksummed to a bucket."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.core import lake as lakes

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def write_atomically(path: Path, text: str) -> None:
    """Write to a hidden temporary name in the same folder, then rename: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def upload_report(lake_uri: str, files: Sequence[Path], spark: SparkSession | None = None) -> None:
    """Copy local files to `<lake>/reports/` of a `gs://` lake, in order (latest.html last)."""
    if importlib.util.find_spec("google.cloud.storage") is not None:  # the checksummed upload of ingest.core.lake
        lake = lakes.parse_lake(lake_uri)
        staging = lakes.staging_root(lake) / f"reports-{os.getpid()}-{time.time_ns()}"
        staging.mkdir(parents=True)
        for path in files:
            shutil.copy2(path, staging / path.name)
        lakes.publish(lake, staging, "reports", files[-1].name)
        return
    if spark is None:  # a cluster without the storage client: Spark's Hadoop file system copies
        raise RuntimeError(f"cannot upload to {lake_uri}: neither google-cloud-storage nor a Spark session is here")
    jvm: Any = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path
    for path in files:
        target = hadoop_path(f"{lakes.spark_location(lakes.parse_lake(lake_uri))}/reports/{path.name}")
        filesystem = target.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())  # type: ignore[union-attr]
        filesystem.copyFromLocalFile(False, True, hadoop_path(f"file://{path.resolve()}"), target)
