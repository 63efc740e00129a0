#!/usr/bin/env bash
# A local Spark Thrift server (what Dataproc runs in production), from pyspark's own jars.
#
#   scripts/spark-thrift.sh start    # listens on SPARK_THRIFT_HOST:SPARK_THRIFT_PORT (127.0.0.1:10000)
#   scripts/spark-thrift.sh stop
#   scripts/spark-thrift.sh status
#
# Its Derby metastore and warehouse live in $LAKEHOUSE_LOCAL_DIR/spark-thrift, apart from the
# session target's (Derby lets one JVM open a metastore). Watch its jobs in the Spark UI at
# http://127.0.0.1:${SPARK_THRIFT_UI_PORT:-4041}. Logs: $LAKEHOUSE_LOCAL_DIR/spark-thrift/server.log.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
local_dir="${LAKEHOUSE_LOCAL_DIR:-$repo/.local}"
base="$local_dir/spark-thrift"
host="${SPARK_THRIFT_HOST:-127.0.0.1}"
port="${SPARK_THRIFT_PORT:-10000}"
ui_port="${SPARK_THRIFT_UI_PORT:-4041}"
python="${LAKEHOUSE_PYTHON:-$repo/.venv/bin/python}"
pidfile="$base/server.pid"

answers() {
  "$python" - "$host" "$port" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}

start() {
  if answers; then echo "a Thrift server already answers on $host:$port"; return 0; fi
  spark_home="$("$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
  events="${LAKEHOUSE_SPARK_EVENTS:-$local_dir/spark-events}"  # for `make spark-history`
  mkdir -p "$base/warehouse" "$base/tmp" "$events"
  # Same Spark settings as the `local` dbt target (profiles/profiles.yml), sized for a small machine.
  cd "$base"
  nohup "$spark_home/bin/spark-submit" \
    --class org.apache.spark.sql.hive.thriftserver.HiveThriftServer2 \
    --name lakehouse-thrift \
    --master "${SPARK_THRIFT_MASTER:-local[2]}" \
    --driver-memory "${SPARK_THRIFT_MEMORY:-4g}" \
    --conf spark.ui.port="$ui_port" \
    --conf spark.sql.warehouse.dir="$base/warehouse" \
    --conf spark.local.dir="$base/tmp" \
    --conf spark.driver.extraJavaOptions="-Dderby.system.home=$base -Djava.io.tmpdir=$base/tmp" \
    --conf spark.sql.shuffle.partitions=4 \
    --conf spark.sql.adaptive.enabled=true \
    --conf spark.sql.session.timeZone=UTC \
    --conf spark.sql.hive.manageFilesourcePartitions=false \
    --conf spark.sql.sources.partitionColumnTypeInference.enabled=false \
    --conf spark.sql.legacy.allowNonEmptyLocationInCTAS=true \
    --conf spark.eventLog.enabled=true \
    --conf spark.eventLog.dir="$events" \
    --conf spark.eventLog.compress=true \
    --hiveconf javax.jdo.option.ConnectionURL="jdbc:derby:;databaseName=$base/metastore_db;create=true" \
    --hiveconf hive.server2.thrift.bind.host="$host" \
    --hiveconf hive.server2.thrift.port="$port" \
    spark-internal > "$base/server.log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 120); do
    if answers; then
      echo "Spark Thrift server on $host:$port (Spark UI http://127.0.0.1:$ui_port, log $base/server.log)"
      return 0
    fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then break; fi
    sleep 1
  done
  echo "the Thrift server did not start; see $base/server.log" >&2
  tail -20 "$base/server.log" >&2 || true
  exit 1
}

stop() {
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    pid="$(cat "$pidfile")"
    kill "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    echo "Spark Thrift server stopped"
  else
    echo "no Spark Thrift server was started from $base"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if answers; then echo "a Thrift server answers on $host:$port"; else echo "nothing answers on $host:$port"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
