#!/bin/sh
# Collector ingest under load (docs/PERFORMANCE.md "Collector ingest"): a test CA, a fresh
# database, `rollcall-server serve` over HTTPS on loopback, and bench_ingest driving N
# concurrent simulated kiosks against it. Usage (from the repository root, after a release
# build): tests/bench/ingest_load.sh [DEVICES [BATCHES [EVENTS [THREADS]]]]
set -eu
devices=${1:-1000}
batches=${2:-5}
events=${3:-5}
threads=${4:-4}
bin=${ROLLCALL_BINARY_DIR:-build/rel}
dir=$(mktemp -d /tmp/rc-load-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
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
db="sqlite:$dir/server.db"
"$bin/rollcall-server" --db "$db" migrate >/dev/null 2>&1
token=$("$bin/rollcall-server" --db "$db" token create --role enroll \
  --institution BENCH-INST --name load 2>/dev/null)
"$bin/rollcall-server" --db "$db" --log-level "${LOG_LEVEL:-warn}" serve --listen 127.0.0.1:0 \
  --tls-cert "$dir/server.pem" --tls-key "$dir/server.key" --threads "$threads" \
  --per-ip-limit 0 --max-connections $((devices + 64)) --conn-timeout 120 \
  2>"$dir/server.log" &
pid=$!
port=
for _ in $(seq 1 100); do
  port=$("$bin/rollcall-server" --version >/dev/null 2>&1; \
    ss -ltnp 2>/dev/null | awk -v p="pid=$pid," '$0 ~ p {split($4, a, ":"); print a[2]}' | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "server did not start"; cat "$dir/server.log"; exit 1; }
echo "rollcall-server pid $pid on 127.0.0.1:$port, $threads threads, $(nproc) cores"
"$bin/tests/bench_ingest" --url "https://127.0.0.1:$port" --cacert "$dir/ca.pem" \
  --enroll-token "$token" --db "$dir/server.db" --server-pid "$pid" \
  --devices "$devices" --batches "$batches" --events "$events"
