#!/usr/bin/env bash
# The Airflow UI on embedded defaults: `airflow standalone` (API server and UI, scheduler, DAG
# processor, triggerer) with this repository's DAGs, until Ctrl+C.
#
# standalone starts its components as `airflow ...` from PATH, so .venv/bin goes first on it. It
# runs in a process group of its own: Ctrl+C (or SIGTERM) stops the whole group, the scheduler's
# executor workers included (the scheduler alone waits for them), and whatever is left after
# 20 seconds is killed, so nothing keeps the port or the SQLite database after the command returns.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$repo/.venv/bin:$PATH"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"

setsid airflow standalone &
group=$!

stop() {
  trap - INT TERM
  echo "airflow-ui: stopping every component" >&2
  kill -TERM -- "-$group" 2>/dev/null || true
  for _ in $(seq 20); do
    kill -0 -- "-$group" 2>/dev/null || { echo "airflow-ui: stopped" >&2; exit 0; }
    sleep 1
  done
  kill -KILL -- "-$group" 2>/dev/null || true
  echo "airflow-ui: stopped (the rest killed after 20 s)" >&2
  exit 0
}
trap stop INT TERM
wait "$group"
