#!/usr/bin/env bash
# A private MariaDB/MySQL for the project, under .local/mysql, when no server answers.
#
#   scripts/mysql-local.sh ensure   # use the server at LAKEHOUSE_MYSQL_URL, or start a private one there
#   scripts/mysql-local.sh start    # start the private server (port from LAKEHOUSE_MYSQL_URL, default 3306)
#   scripts/mysql-local.sh stop
#   scripts/mysql-local.sh status
#
# The private server listens on 127.0.0.1 only, allows LOAD DATA LOCAL, keeps a row-based binary
# log (for `ingest extract --mode cdc`; 3 days of it), serves TLS (and only TLS) when
# $LAKEHOUSE_LOCAL_DIR/mysql/tls holds ca.pem, server-cert.pem and server-key.pem, and keeps its data in
# $LAKEHOUSE_LOCAL_DIR/mysql (default <repo>/.local/mysql). root has no password: it is for a laptop or CI.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
local_dir="${LAKEHOUSE_LOCAL_DIR:-$repo/.local}"
base="$local_dir/mysql"
url="${LAKEHOUSE_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
hostport="${url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"; hostport="${hostport%%\?*}"
host="${hostport%%:*}"
port="${hostport##*:}"; [[ "$port" == "$hostport" ]] && port=3306

answers() {
  python3 - "$host" "$port" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}

find_binary() {
  for name in "$@"; do
    for dir in "" /usr/sbin/ /usr/local/sbin/ /usr/libexec/ /usr/local/mysql/bin/; do
      if [[ -z "$dir" ]]; then command -v "$name" 2>/dev/null && return 0
      elif [[ -x "$dir$name" ]]; then echo "$dir$name"; return 0; fi
    done
  done
  return 1
}

start() {
  if answers; then echo "a server already answers on $host:$port"; return 0; fi
  if [[ "$host" != "127.0.0.1" && "$host" != "localhost" ]]; then
    echo "no MySQL answers at $host:$port, and a private server can only run on this machine." >&2
    echo "Check LAKEHOUSE_MYSQL_URL, or unset it to use 127.0.0.1:3306." >&2
    exit 1
  fi
  server="$(find_binary mariadbd mysqld)" || {
    echo "No MySQL server answers at $host:$port and no MariaDB/MySQL server binary is installed." >&2
    echo "Install one (Debian/Ubuntu: sudo apt-get install mariadb-server) and re-run, or point" >&2
    echo "LAKEHOUSE_MYSQL_URL at a running server: mysql://user:password@host:port" >&2
    exit 1
  }
  mkdir -p "$base/data" "$base/run" "$base/tmp" "$base/binlog"
  cat > "$base/my.cnf" <<CNF
[mysqld]
datadir=$base/data
socket=$base/run/mysqld.sock
pid-file=$base/run/mysqld.pid
tmpdir=$base/tmp
port=$port
bind-address=127.0.0.1
local-infile=1
skip-name-resolve
innodb_buffer_pool_size=512M
innodb_log_file_size=256M
max_allowed_packet=256M
log-error=$base/mysqld.log
server-id=1
log-bin=$base/binlog/mysql-bin
binlog-format=ROW
binlog-row-image=FULL
binlog-row-metadata=FULL
binlog-expire-logs-seconds=259200
CNF
  # TLS when certificates are in $base/tls (ca.pem, server-cert.pem, server-key.pem): then every
  # TCP client must use it.
  if [[ -f "$base/tls/server-cert.pem" ]]; then
    cat >> "$base/my.cnf" <<CNF
ssl-ca=$base/tls/ca.pem
ssl-cert=$base/tls/server-cert.pem
ssl-key=$base/tls/server-key.pem
require-secure-transport=ON
CNF
  fi
  user_opt=()
  [[ "$(id -u)" == 0 ]] && user_opt=(--user=root)
  if [[ ! -d "$base/data/mysql" ]]; then
    if installer="$(find_binary mariadb-install-db mysql_install_db)"; then
      "$installer" --defaults-file="$base/my.cnf" "${user_opt[@]}" --auth-root-authentication-method=normal \
        --skip-test-db > "$base/install.log" 2>&1
    else
      "$server" --defaults-file="$base/my.cnf" "${user_opt[@]}" --initialize-insecure > "$base/install.log" 2>&1
    fi
  fi
  nohup "$server" --defaults-file="$base/my.cnf" "${user_opt[@]}" > /dev/null 2>&1 &
  for _ in $(seq 1 60); do
    if answers; then echo "private MySQL started on $host:$port (data in $base)"; return 0; fi
    sleep 0.5
  done
  echo "the private server did not start; see $base/mysqld.log" >&2
  exit 1
}

stop() {
  if [[ -f "$base/run/mysqld.pid" ]]; then
    kill "$(cat "$base/run/mysqld.pid")" 2>/dev/null || true
    for _ in $(seq 1 60); do [[ -f "$base/run/mysqld.pid" ]] || break; sleep 0.5; done
    echo "private MySQL stopped"
  else
    echo "no private MySQL is running from $base"
  fi
}

case "${1:-ensure}" in
  ensure|start) start ;;
  stop) stop ;;
  status) if answers; then echo "MySQL answers on $host:$port"; else echo "nothing answers on $host:$port"; exit 1; fi ;;
  *) echo "usage: $0 ensure|start|stop|status" >&2; exit 2 ;;
esac
