#!/bin/sh
# Collector ingest under load (docs/PERFORMANCE.md "Collector ingest"): a test CA, a fresh
# database, `rollcall-server serve` over HTTPS on loopback, and bench_ingest driving N
# concurrent simulated kiosks against it. Usage (from the repository root, after a release
# build): tests/bench/ingest_load.sh [DEVICES [BATCHES [EVENTS [THREADS]]]]
# On PostgreSQL: ROLLCALL_BENCH_PG=postgresql://.../EMPTY_DB (migrated here; the script does
# not empty it), and COLLECTORS=2 for two `serve` processes on it, devices alternating.
# RATE=R offers the steady state at R requests/s (open loop) instead of as fast as answered.
# HTTP_MODE=pool runs `serve --http-mode pool` (THREADS workers serve every connection); the
# default is serve's own, per-connection (THREADS is then the number of database connections).
set -eu
devices=${1:-1000}
batches=${2:-5}
events=${3:-5}
threads=${4:-4}
bin=${ROLLCALL_BINARY_DIR:-build/rel}
dir=$(mktemp -d /tmp/rc-load-XXXXXX)
pid=
pid2=
collectors=${COLLECTORS:-1}
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "$pid2" ] && kill "$pid2" 2>/dev/null && wait "$pid2" 2>/dev/null || true
  [ -n "${SERVER_LOG:-}" ] && cp "$dir/server.log" "$SERVER_LOG" || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
  -out ca.pem -days 2 -subj /CN=load-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
  -out server.csr -subj /CN=localhost 2>/dev/null
echo "subjectAltName=IP:127.0.0.1" > ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 2 -extfile ext.cnf 2>/dev/null
cd - >/dev/null
db=${ROLLCALL_BENCH_PG:-"sqlite:$dir/server.db"}
"$bin/rollcall-server" --db "$db" migrate >/dev/null 2>&1
token=$("$bin/rollcall-server" --db "$db" token create --role enroll \
  --institution BENCH-INST --name load 2>/dev/null)
# The class the simulated sign-ins name, as a real kiosk's name an imported class (without
# it every sign-in would also store an unknown_class finding: another path than ingest's own).
cat > "$dir/classes.json" <<'EOF_PLAN'
[{"id": "BENCH-CLASS", "institution": "BENCH-INST", "district": "120103",
  "occupation": "2-02-10-09", "level": "junior", "applied_on": "2026-11-01",
  "sessions": [{"id": "S01", "start": "2026-11-18T08:00:00+08:00",
                "end": "2026-11-18T20:00:00+08:00", "mode": "offline", "fence": "bench-venue"}],
  "roster": []}]
EOF_PLAN
"$bin/rollcall-server" --db "$db" import classes "$dir/classes.json" >/dev/null
start_collector() { # LOG: starts one collector in the background
  "$bin/rollcall-server" --db "$db" --log-level "${LOG_LEVEL:-warn}" serve --listen 127.0.0.1:0 \
    --tls-cert "$dir/server.pem" --tls-key "$dir/server.key" --threads "$threads" \
    --http-mode "${HTTP_MODE:-per-connection}" \
    --per-ip-limit 0 --max-connections ${MAXCONN:-$((devices + 64))} --conn-timeout 120 \
    2>"$1" &
}
port_of() { # PID: the port it listens on, waiting up to 10 s
  p=
  for _ in $(seq 1 100); do
    p=$(ss -ltnp 2>/dev/null | awk -v w="pid=$1," '$0 ~ w {split($4, a, ":"); print a[2]}' | head -1)
    [ -n "$p" ] && break
    sleep 0.1
  done
  echo "$p"
}
start_collector "$dir/server.log"
pid=$!
port=$(port_of "$pid")
[ -n "$port" ] || { echo "server did not start"; cat "$dir/server.log"; exit 1; }
url2=
if [ "$collectors" = 2 ]; then
  start_collector "$dir/server2.log"
  pid2=$!
  port2=$(port_of "$pid2")
  [ -n "$port2" ] || { echo "second server did not start"; cat "$dir/server2.log"; exit 1; }
  url2="--url2 https://127.0.0.1:$port2"
  echo "second rollcall-server pid $pid2 on 127.0.0.1:$port2"
fi
echo "rollcall-server pid $pid on 127.0.0.1:$port, $threads threads (${HTTP_MODE:-per-connection}), $(nproc) cores, $db" |
  sed 's/password=[^&]*/password=.../'
check_db=$db
case "$db" in sqlite:*) check_db=$dir/server.db ;; esac
# shellcheck disable=SC2086
"$bin/tests/bench_ingest" --url "https://127.0.0.1:$port" $url2 --cacert "$dir/ca.pem" \
  --enroll-token "$token" --db "$check_db" --server-pid "$pid" \
  --devices "$devices" --batches "$batches" --events "$events" --rate "${RATE:-0}"
