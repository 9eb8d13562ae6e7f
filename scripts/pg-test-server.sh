#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: `start DIR` creates DIR, runs initdb and
# pg_ctl there (as the unprivileged `postgres` user when run as root: the server refuses to
# run as root), listens on a unix socket in DIR only (no TCP port to collide with), creates
# the database `rollcall` and prints its URL; `stop DIR` stops the server and removes DIR;
# `url DIR` prints the URL. Tests set ROLLCALL_TEST_PG to that URL.
set -euo pipefail
bin=${ROLLCALL_PG_BIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|url DIR" >&2
  exit 2
fi
dir=$(realpath -m "$dir") # the URL and the server need it absolute
port=5432                # names the socket file in DIR; nothing listens on TCP
url() { printf 'postgresql:///rollcall?host=%s&port=%s&user=rollcall\n' "$dir/sock" "$port"; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
start)
  if [ ! -x "$bin/initdb" ]; then
    echo "pg-test-server: $bin/initdb not found: apt-get install postgresql-15" >&2
    exit 1
  fi
  if [ -d "$dir" ]; then # a cluster left by an interrupted run
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
  fi
  mkdir -p "$dir/sock"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$dir"
    # The server's user must reach DIR through every parent.
    d=$dir
    while [ "$d" != / ]; do
      d=$(dirname "$d")
      chmod o+x "$d" 2>/dev/null || true
    done
  fi
  as_owner "$bin/initdb" -D "$dir/data" -U rollcall --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  # fsync stays on: the durability the collector promises is part of what the tests measure.
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir/sock' -p $port -c max_connections=300 -c shared_buffers=64MB" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  as_owner "$bin/createdb" -h "$dir/sock" -p "$port" -U rollcall rollcall
  url
  ;;
stop)
  if [ -d "$dir/data" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
url)
  url
  ;;
*)
  echo "usage: $0 start|stop|url DIR" >&2
  exit 2
  ;;
esac
