#!/usr/bin/env bash
# ctest packages/boot (label `packages`): the packages' services started by systemd, hardened,
# in a clean Debian 12 root booted with systemd-nspawn (docs/INSTALL.md "Tests"). Uses the
# .debs packages/debs built (ctest fixture debs), in a root with exactly their declared Depends
# plus systemd and dbus (debroot.sh, cached). In the container (in_boot.sh, entered with
# nsenter), then from the host over the container's own loopback (HTTPS with the host's curl
# and openssl, run in the container's network namespace only):
#   - dpkg -i with systemd running; the unit skips its start until the certificate is there;
#   - systemctl start rollcall-server: Type=notify reaches READY, port 8443 listens, GET
#     /healthz answers 200 with the installed certificate;
#   - the hardening in force: systemctl show (User, ProtectSystem, NoNewPrivileges, ...), the
#     main process's /proc status (uid, no capabilities, no_new_privs, seccomp), writes to /usr
#     and /etc refused in its mount namespace, and systemd-analyze security of the running unit
#     at 2.0 or lower;
#   - systemctl reload with a renewed certificate: the same process serves the new certificate;
#   - backup while serving between two admin tokens, restore refused while serving, then stop,
#     restore, start: the token made before the backup works, the one made after is refused;
#   - an earlier release's database (the newest schema fixture older than this release)
#     upgraded by `dpkg -i` (the postinst backs it up and migrates it), the collector running
#     again and serving the new schema;
#   - rollcall-agent: init, systemctl start (READY), the same hardening checks, a sign-in through
#     the daemon's control socket by a user who cannot open the agent's data;
#   - rollcall-screen: started (READY), confined, its page answers 200 on 127.0.0.1:8480;
#   - both stopped cleanly (Result=success), then the container powered off cleanly.
# Needs root and systemd-nspawn (Debian package systemd-container); no systemd on the host, no
# machined, no network in the container (--private-network). Usage: test_boot.sh OUTDIR
# Time on the shared 2-core test machine, root cached: 6-20 s; making the root once adds about
# 30 s (docs/INSTALL.md "Tests").
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "$HERE/../.." && pwd)"
OUT="${1:?usage: test_boot.sh OUTDIR}"
fail() { echo "packages boot test: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "needs root (systemd-nspawn)"
command -v systemd-nspawn >/dev/null || fail "no systemd-nspawn: apt-get install systemd-container"
t0=$SECONDS
version="$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)"
debs=()
for p in rollcall-server rollcall-verify rollcall-agent; do
  f="$OUT/${p}_${version}_$(dpkg --print-architecture).deb"
  [ -f "$f" ] || fail "$f is missing (ctest packages/debs builds it)"
  debs+=("$f")
done

# shellcheck source=tests/packages/debroot.sh
. "$HERE/debroot.sh"
debroot_tarball systemd,dbus "${debs[@]}"

root="$(mktemp -d "$OUT/boot.XXXXXX")"
machine="rollcall-pkg-$$"
nspawn=""
leader=""
cleanup() {
  if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
    # SIGTERM: nspawn asks the container's systemd to power off.
    kill -TERM "$nspawn" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.5; done
    # Still there: kill the container's init (the whole PID namespace goes with it), then nspawn.
    if kill -0 "$nspawn" 2>/dev/null; then
      [ -z "$leader" ] || kill -KILL "$leader" 2>/dev/null || true
      kill -KILL "$nspawn" 2>/dev/null || true
    fi
    wait "$nspawn" 2>/dev/null || true
  fi
  rm -rf "$root"
  rmdir "/run/systemd/nspawn/propagate/$machine" 2>/dev/null || true
}
trap cleanup EXIT
tar -xf "$tarball" -C "$root"
mkdir -p "$root/root/debs"
cp "${debs[@]}" "$root/root/debs/"
cp "$HERE/in_boot.sh" "$root/root/in_boot.sh"
echo "$machine" >"$root/etc/hostname"

# The earlier releases' databases (the schema fixtures; the root has no sqlite3).
command -v sqlite3 >/dev/null || fail "no sqlite3 (scripts/install-deps.sh)"
mkdir -p "$root/root/fixtures"
for f in "$SRC"/tests/fixtures/server-schema-v*.sql; do
  n="${f##*/server-schema-v}"
  sqlite3 "$root/root/fixtures/server-v${n%.sql}.db" <"$f"
done

# A CA, the collector's certificate for 127.0.0.1, and a renewed one for the reload.
pki="$root/root/pki"
mkdir -p "$pki"
ossl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $1 failed"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/ca.key" \
  -out "$pki/ca.pem" -days 60 -subj "/CN=rollcall packages test CA"
echo "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$pki/ext.cnf"
for n in server server2; do
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$n.key" \
    -out "$pki/$n.csr" -subj "/CN=localhost"
  ossl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
    -out "$pki/$n.pem" -days 60 -extfile "$pki/ext.cnf"
done

t1=$SECONDS
systemd-nspawn --quiet -D "$root" --boot --register=no --keep-unit --private-network \
  --machine="$machine" --console=read-only >"$OUT/boot-console.log" 2>&1 &
nspawn=$!
for _ in $(seq 1 100); do
  leader="$(pgrep -P "$nspawn" -x systemd || true)"
  [ -n "$leader" ] && break
  kill -0 "$nspawn" 2>/dev/null || { cat "$OUT/boot-console.log" >&2; fail "nspawn exited"; }
  sleep 0.2
done
[ -n "$leader" ] || fail "no systemd in the container after 20 s"

inside() {
  nsenter -t "$leader" -a /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat "$@"
}
# Until systemd listens on its private socket, systemctl cannot connect: ask again.
state=""
for _ in $(seq 1 120); do
  state="$(timeout 60 nsenter -t "$leader" -a /usr/bin/systemctl is-system-running --wait \
    2>/dev/null || true)"
  [ -z "$state" ] || break
  sleep 0.5
done
if [ "$state" != running ]; then
  inside systemctl --failed --no-pager >&2 || true
  fail "the container's systemd is '$state', not running"
fi
echo "packages boot test: the root booted (systemd $state) in $((SECONDS - t1)) s"

# The host's curl and openssl in the container's network namespace (its loopback).
https_status() { # PATH [TOKEN]: the HTTP status of GET https://127.0.0.1:8443/PATH
  local auth=()
  [ -z "${2:-}" ] || auth=(-H "Authorization: Bearer $2")
  nsenter -t "$leader" -n curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \
    --cacert "$pki/ca.pem" "${auth[@]}" "https://127.0.0.1:8443$1"
}
served_serial() {
  nsenter -t "$leader" -n openssl s_client -connect 127.0.0.1:8443 -CAfile "$pki/ca.pem" \
    -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial
}

inside bash /root/in_boot.sh server
[ "$(https_status /healthz)" = 200 ] || fail "GET /healthz is not 200"
[ "$(served_serial)" = "$(openssl x509 -noout -serial -in "$pki/server.pem")" ] ||
  fail "the collector does not serve the installed certificate"
echo "GET /healthz: 200 with the installed certificate"

inside bash /root/in_boot.sh reload
[ "$(served_serial)" = "$(openssl x509 -noout -serial -in "$pki/server2.pem")" ] ||
  fail "after the reload the collector does not serve the renewed certificate"
[ "$(https_status /healthz)" = 200 ] || fail "GET /healthz is not 200 after the reload"
echo "after systemctl reload: the renewed certificate is served"

inside bash /root/in_boot.sh backup
before="$(tr -d '\n' <"$root/root/token-before")"
after="$(tr -d '\n' <"$root/root/token-after")"
[ "$(https_status /v1/users "$before")" = 200 ] || fail "the first admin token is refused"
[ "$(https_status /v1/users "$after")" = 200 ] || fail "the second admin token is refused"
inside bash /root/in_boot.sh restore
[ "$(https_status /healthz)" = 200 ] || fail "GET /healthz is not 200 after the restore"
[ "$(https_status /v1/users "$before")" = 200 ] ||
  fail "the token made before the backup is refused after the restore"
[ "$(https_status /v1/users "$after")" = 401 ] ||
  fail "the token made after the backup still works after the restore"
echo "backup and restore: the restored collector knows the token from before the backup only"

inside bash /root/in_boot.sh upgrade
schema="$(tr -d '\n' <"$root/root/schema-current")"
health="$(nsenter -t "$leader" -n curl -sS --max-time 10 --cacert "$pki/ca.pem" \
  https://127.0.0.1:8443/healthz)"
grep -Eq "\"schema\": *${schema}[,}]" <<<"$health" ||
  fail "after the upgrade /healthz says $health, not schema $schema"
echo "the upgraded collector serves schema $schema"

inside bash /root/in_boot.sh agent
status="$(nsenter -t "$leader" -n curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \
  http://127.0.0.1:8480/)"
[ "$status" = 200 ] || fail "the kiosk screen's page answers $status, not 200"
echo "GET http://127.0.0.1:8480/ (the kiosk screen): 200"
inside bash /root/in_boot.sh stop

# The container powers off when nspawn gets SIGTERM: systemd stops every unit.
kill -TERM "$nspawn"
rc=0
wait "$nspawn" || rc=$?
nspawn=""
[ "$rc" -eq 0 ] || fail "the container did not power off cleanly (nspawn exit $rc)"
echo "packages boot test: all checks passed in $((SECONDS - t0)) s (boot and checks $((SECONDS - t1)) s)"
