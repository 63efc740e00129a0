#!/usr/bin/env bash
# Spark's history server on the pipeline's event logs, until Ctrl+C: every finished run's Spark
# applications (the dbt build, the docs' catalog, the reports), with their jobs, stages and SQL plans.
#
#   scripts/spark-history.sh            # http://127.0.0.1:18080 (LAKEHOUSE_SPARK_HISTORY_PORT picks another port)
#
# It reads $LAKEHOUSE_SPARK_EVENTS (default $LAKEHOUSE_LOCAL_DIR/spark-events, i.e. .local/spark-events),
# where the pipeline's tasks, the reports and scripts/spark-thrift.sh write their event logs.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
local_dir="${LAKEHOUSE_LOCAL_DIR:-$repo/.local}"
events="${LAKEHOUSE_SPARK_EVENTS:-$local_dir/spark-events}"
mkdir -p "$events" && events="$(cd "$events" && pwd)"  # absolute, as Spark wants it
port="${LAKEHOUSE_SPARK_HISTORY_PORT:-18080}"
python="$repo/.venv/bin/python"
spark_home="$("$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_LOCAL_IP=127.0.0.1
export SPARK_HISTORY_OPTS="-Dspark.history.fs.logDirectory=file://$events -Dspark.history.ui.port=$port \
-Dspark.history.fs.update.interval=5s"
echo "Spark history server on http://127.0.0.1:$port over $events (Ctrl+C stops it)"
exec "$spark_home/bin/spark-class" org.apache.spark.deploy.history.HistoryServer
