#!/usr/bin/env bash
# Dataproc initialization action: start the Spark Thrift server on the master node.
# Upload it to gs://$LAKEHOUSE_BUCKET/dataproc/start-spark-thrift.sh (see the README's Google Cloud set-up).
# HiveServer2 already listens on 10000 on a Dataproc master, so Spark's Thrift server takes 10001.
set -euxo pipefail

role="$(/usr/share/google/get_metadata_value attributes/dataproc-role)"
if [[ "$role" != "Master" ]]; then
  exit 0
fi
port="$(/usr/share/google/get_metadata_value attributes/spark-thrift-port || echo 10001)"
# Same settings as the project's profiles (raw extracts read with partition discovery, no MSCK).
sudo -u spark /usr/lib/spark/sbin/start-thriftserver.sh \
  --hiveconf hive.server2.thrift.port="$port" \
  --hiveconf hive.server2.thrift.bind.host=0.0.0.0 \
  --conf spark.sql.hive.manageFilesourcePartitions=false \
  --conf spark.sql.sources.partitionColumnTypeInference.enabled=false \
  --conf spark.sql.legacy.allowNonEmptyLocationInCTAS=true \
  --conf spark.sql.session.timeZone=UTC
