#!/usr/bin/env bash
# A private PostgreSQL for Airflow's metadata, under .local/postgres, when no server answers.
#
#   scripts/postgres-local.sh ensure   # use the server at LAKEHOUSE_AIRFLOW_POSTGRES_URL, or start a private one
#   scripts/postgres-local.sh start    # start the private server (port from that URL, default 5432)
#   scripts/postgres-local.sh stop
#
# The private server listens on 127.0.0.1 only with trust authentication for the user `postgres`:
# it is for a laptop or CI. Production points the URL at its own server (docs/production.md).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
local_dir="${LAKEHOUSE_LOCAL_DIR:-$repo/.local}"
base="$local_dir/postgres"
url="${LAKEHOUSE_AIRFLOW_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
hostport="${url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"
port="${hostport##*:}"; [[ "$port" == "$hostport" ]] && port=5432

answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

binary() {
  command -v "$1" 2>/dev/null && return 0
  for dir in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin; do [[ -x "$dir/$1" ]] && { echo "$dir/$1"; return 0; }; done
  echo "no $1 found: install PostgreSQL's server (Debian: apt-get install postgresql)" >&2
  return 1
}

# PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
as_owner() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
  if answers; then echo "a PostgreSQL server already answers on $host:$port"; return 0; fi
  mkdir -p "$base"
  [[ "$(id -u)" == 0 ]] && chown postgres "$base"
  if [[ ! -f "$base/data/PG_VERSION" ]]; then
    as_owner "$(binary initdb)" -D "$base/data" -U postgres --auth=trust > "$base/initdb.log"
  fi
  as_owner "$(binary pg_ctl)" -D "$base/data" -l "$base/server.log" -w \
    -o "-c listen_addresses=$host -c port=$port -c unix_socket_directories=$base" start > /dev/null
  echo "PostgreSQL on $host:$port (data $base/data, log $base/server.log)"
}

stop() {
  if [[ -f "$base/data/postmaster.pid" ]]; then
    as_owner "$(binary pg_ctl)" -D "$base/data" -m fast stop > /dev/null && echo "PostgreSQL stopped"
  else
    echo "no PostgreSQL was started from $base"
  fi
}

case "${1:-ensure}" in
  ensure|start) start ;;
  stop) stop ;;
  *) echo "usage: $0 ensure|start|stop" >&2; exit 2 ;;
esac
