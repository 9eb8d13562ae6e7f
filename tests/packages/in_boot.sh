#!/bin/bash
# Runs inside the booted Debian 12 root of test_boot.sh (systemd as PID 1 in a systemd-nspawn
# container, entered with nsenter): one stage per call, so the host can check what a client
# sees between stages (HTTPS over the container's loopback). Each check fails with one line
# saying what. Usage: in_boot.sh server|reload|backup|restore|upgrade|agent|stop
set -euo pipefail
fail() { echo "packages boot test (in the container): $*" >&2; exit 1; }
as() { local user=$1; shift; setpriv --reuid "$user" --regid "$user" --init-groups -- "$@"; }
step() { echo "-- $*"; }
DB=sqlite:/var/lib/rollcall/server.db

# show_is UNIT PROPERTY VALUE: the loaded unit's property, as systemd applies it, is VALUE.
show_is() {
  local got
  got="$(systemctl show -p "$2" --value "$1")"
  [ "$got" = "$3" ] || fail "$1: $2 is '$got', not '$3'"
}

# confined UNIT USER: the unit's running main process is USER's, without capabilities, with
# no_new_privs and a seccomp filter, and sees / read-only and only its state directory writable.
confined() {
  local unit=$1 user=$2 pid uid
  pid="$(systemctl show -p MainPID --value "$unit")"
  [ "$pid" -gt 0 ] || fail "$unit has no main process"
  uid="$(id -u "$user")"
  grep -Eq "^Uid:[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}[[:space:]]+${uid}\$" \
    "/proc/$pid/status" || fail "$unit's process $pid does not run as $user ($uid)"
  grep -Eq '^NoNewPrivs:[[:space:]]+1$' "/proc/$pid/status" || fail "$unit: no_new_privs not set"
  grep -Eq '^Seccomp:[[:space:]]+2$' "/proc/$pid/status" || fail "$unit: no seccomp filter"
  grep -Eq '^CapEff:[[:space:]]+0+$' "/proc/$pid/status" || fail "$unit has capabilities"
  grep -Eq '^CapBnd:[[:space:]]+0+$' "/proc/$pid/status" || fail "$unit's bounding set is not empty"
  # In the service's own mount namespace (ProtectSystem=strict, StateDirectory=rollcall):
  if nsenter -t "$pid" -m touch /usr/lib/rollcall-probe 2>/dev/null; then
    fail "$unit can write /usr (ProtectSystem=strict is not in force)"
  fi
  if nsenter -t "$pid" -m touch /etc/rollcall-probe 2>/dev/null; then
    fail "$unit can write /etc"
  fi
  nsenter -t "$pid" -m touch /var/lib/rollcall/.probe || fail "$unit cannot write its state directory"
  rm -f /var/lib/rollcall/.probe
  install -d /home/someone && touch /home/someone/file
  [ -z "$(nsenter -t "$pid" -m ls -A /home 2>/dev/null)" ] ||
    fail "$unit sees /home (ProtectHome=yes)"
  rm -rf /home/someone
  echo "$unit: pid $pid runs as $user, no capabilities, no_new_privs, seccomp, / read-only"
}

# rated UNIT: systemd's own rating of the running unit is 2.0 or lower ("OK").
rated() {
  systemd-analyze security --threshold=20 --no-pager "$1" >/tmp/security.txt 2>&1 ||
    fail "$1 rates above 2.0: $(tail -n 1 /tmp/security.txt)"
  grep -o "Overall exposure level for $1: .*" /tmp/security.txt
}

case "${1:?stage}" in
server)
  step "install rollcall-server and rollcall-verify with systemd running"
  dpkg -i /root/debs/rollcall-server_*.deb /root/debs/rollcall-verify_*.deb
  [ "$(systemctl is-enabled rollcall-server)" = enabled ] || fail "rollcall-server is not enabled"
  # No certificate yet: the unit's condition skips the start, nothing fails.
  systemctl start rollcall-server
  show_is rollcall-server ConditionResult no
  [ "$(systemctl is-active rollcall-server || true)" = inactive ] ||
    fail "rollcall-server started without a certificate"

  step "configured as docs/INSTALL.md says, systemctl start: Type=notify, READY"
  install -m 0644 /root/pki/server.pem /etc/rollcall/server.pem
  install -m 0640 -g rollcall-server /root/pki/server.key /etc/rollcall/server.key
  runuser -u rollcall-server -- rollcall-server --db "$DB" migrate || fail "migrate failed"
  runuser -u rollcall-server -- rollcall-server --db "$DB" signing-key create ||
    fail "signing-key create failed"
  rollcall-server check-config --listen 0.0.0.0:8443 --tls-cert /etc/rollcall/server.pem \
    --tls-key /etc/rollcall/server.key || fail "check-config refused the installed files"
  timeout 60 systemctl start rollcall-server || {
    journalctl -u rollcall-server -n 20 --no-pager >&2
    fail "systemctl start rollcall-server failed"
  }
  [ "$(systemctl is-active rollcall-server)" = active ] || fail "rollcall-server is not active"
  show_is rollcall-server Type notify
  show_is rollcall-server StatusErrno 0
  grep -q ':20FB 00000000:0000 0A ' /proc/net/tcp || fail "nothing listens on port 8443"

  step "the hardening in force"
  show_is rollcall-server User rollcall-server
  show_is rollcall-server NoNewPrivileges yes
  show_is rollcall-server ProtectSystem strict
  show_is rollcall-server ProtectHome yes
  show_is rollcall-server PrivateUsers yes
  show_is rollcall-server PrivateTmp yes
  show_is rollcall-server PrivateDevices yes
  show_is rollcall-server RestrictNamespaces yes
  show_is rollcall-server MemoryDenyWriteExecute yes
  show_is rollcall-server CapabilityBoundingSet ""
  show_is rollcall-server WatchdogUSec 30s
  confined rollcall-server rollcall-server
  rated rollcall-server.service
  ;;

reload)
  step "systemctl reload with a renewed certificate: same process, still active"
  pid="$(systemctl show -p MainPID --value rollcall-server)"
  install -m 0644 /root/pki/server2.pem /etc/rollcall/server.pem
  install -m 0640 -g rollcall-server /root/pki/server2.key /etc/rollcall/server.key
  timeout 60 systemctl reload rollcall-server || {
    journalctl -u rollcall-server -n 20 --no-pager >&2
    fail "systemctl reload failed"
  }
  [ "$(systemctl is-active rollcall-server)" = active ] || fail "not active after the reload"
  [ "$(systemctl show -p MainPID --value rollcall-server)" = "$pid" ] ||
    fail "the reload restarted the collector"
  show_is rollcall-server NRestarts 0
  journalctl -u rollcall-server --no-pager -o cat | grep 'reload: new certificate' ||
    fail "the collector did not log the new certificate"
  ;;

backup)
  step "a backup while the collector serves, between two tokens"
  as rollcall-server rollcall-server --db "$DB" token create --role admin --name before \
    >/root/token-before || fail "token create before"
  install -d -m 0700 -o rollcall-server -g rollcall-server /var/backups/rollcall
  as rollcall-server rollcall-server --db "$DB" backup --out /var/backups/rollcall/rc.db ||
    fail "backup failed"
  (cd /var/backups/rollcall && sha256sum -c rc.db.sha256) || fail "the backup's checksum"
  as rollcall-server rollcall-server --db "$DB" token create --role admin --name after \
    >/root/token-after || fail "token create after"
  if as rollcall-server rollcall-server --db "$DB" restore --from /var/backups/rollcall/rc.db \
    2>/tmp/restore.err; then
    fail "restore replaced the database under a serving collector"
  fi
  grep -q 'stop it first' /tmp/restore.err || fail "restore's refusal: $(head -n 1 /tmp/restore.err)"
  head -n 1 /tmp/restore.err
  [ "$(systemctl is-active rollcall-server)" = active ] || fail "the refused restore stopped it"
  ;;

restore)
  step "systemctl stop, restore, systemctl start"
  timeout 60 systemctl stop rollcall-server || fail "systemctl stop failed"
  show_is rollcall-server Result success
  as rollcall-server rollcall-server --db "$DB" restore --from /var/backups/rollcall/rc.db ||
    fail "restore failed"
  ls /var/lib/rollcall/server.db.pre-restore-* >/dev/null || fail "restore kept no old copy"
  timeout 60 systemctl start rollcall-server || fail "the restored collector did not start"
  [ "$(systemctl is-active rollcall-server)" = active ] || fail "not active after the restore"
  ;;

upgrade)
  # The package's upgrade path (dpkg -i over the installed version: the postinst migrates the
  # default database) on the newest schema fixture older than this release's schema
  # (tests/fixtures/server-schema-vN.sql, made into /root/fixtures/server-vN.db by the host).
  current="$(rollcall-server --db "$DB" check-config --tls-cert /etc/rollcall/server.pem \
    --tls-key /etc/rollcall/server.key | sed -n 's/^ok: database (sqlite, schema version \([0-9]*\))$/\1/p')"
  [ -n "$current" ] || fail "check-config printed no schema version"
  old=0
  for f in /root/fixtures/server-v*.db; do
    n="${f##*/server-v}"
    n="${n%.db}"
    if [ "$n" -lt "$current" ] && [ "$n" -gt "$old" ]; then old=$n; fi
  done
  [ "$old" -gt 0 ] || fail "no schema fixture older than version $current"
  step "an earlier release's database (schema $old) upgraded by dpkg -i (schema $current)"
  timeout 60 systemctl stop rollcall-server
  install -m 0600 -o rollcall-server -g rollcall-server "/root/fixtures/server-v$old.db" \
    /var/lib/rollcall/server.db
  dpkg -i /root/debs/rollcall-server_*.deb | tee /tmp/upgrade.out
  grep -q "backed up schema version $old to /var/lib/rollcall/server.db.pre-migrate-v$old" \
    /tmp/upgrade.out || fail "the upgrade did not back up the schema $old database"
  grep -q "migrated from schema version $old to $current" /tmp/upgrade.out ||
    fail "the upgrade did not migrate the schema $old database"
  [ "$(systemctl is-active rollcall-server)" = active ] ||
    fail "rollcall-server is not running again after the upgrade"
  echo "$current" >/root/schema-current
  ;;

agent)
  step "the collector stopped and purged; install rollcall-agent"
  timeout 60 systemctl stop rollcall-server
  dpkg --purge rollcall-server
  rm -rf /var/lib/rollcall
  dpkg -i /root/debs/rollcall-agent_*.deb
  for u in rollcall-agent rollcall-screen; do
    [ "$(systemctl is-enabled $u)" = enabled ] || fail "$u is not enabled"
  done
  [ "$(systemctl is-active rollcall-agent || true)" = inactive ] ||
    fail "rollcall-agent started before init"

  step "init, then systemctl start rollcall-agent: Type=notify, READY"
  # A square of about 220 m around the surveyed position of indoor-fixed-terminal (39.12, 117.20).
  cat >/root/fence.geojson <<'JSON'
{"type": "FeatureCollection", "features": [{"type": "Feature",
 "properties": {"id": "pkg-square", "name": "packages test square", "datum": "WGS-84"},
 "geometry": {"type": "Polygon", "coordinates": [[[117.1987, 39.119], [117.2013, 39.119],
  [117.2013, 39.121], [117.1987, 39.121], [117.1987, 39.119]]]}}]}
JSON
  echo 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff >/root/inst.key
  chmod 600 /root/inst.key
  install -D -m 0644 /root/pki/ca.pem /etc/rollcall/collector-ca.pem
  rollcall-agent init --profile /usr/share/rollcall/firmware-profiles/indoor-fixed-terminal.json \
    --fence /root/fence.geojson --device-id KIOSK-PKG-1 --institution INST-0001 \
    --server https://127.0.0.1:8443 --ca /etc/rollcall/collector-ca.pem --dir /var/lib/rollcall \
    --institution-key /root/inst.key --control-socket /run/rollcall/control.sock \
    --control-group rollcall
  chown -R rollcall:rollcall /var/lib/rollcall
  chgrp rollcall /etc/rollcall/agent.json
  timeout 60 systemctl start rollcall-agent || {
    journalctl -u rollcall-agent -n 20 --no-pager >&2
    fail "systemctl start rollcall-agent failed"
  }
  [ "$(systemctl is-active rollcall-agent)" = active ] || fail "rollcall-agent is not active"
  [ -S /run/rollcall/control.sock ] || fail "no control socket"
  show_is rollcall-agent User rollcall
  show_is rollcall-agent NoNewPrivileges yes
  show_is rollcall-agent ProtectSystem strict
  show_is rollcall-agent ProtectHome yes
  show_is rollcall-agent PrivateTmp yes
  show_is rollcall-agent CapabilityBoundingSet ""
  confined rollcall-agent rollcall
  rated rollcall-agent.service

  step "a sign-in through the daemon, by a kiosk user in group rollcall"
  # kiosk cannot open /var/lib/rollcall (rollcall's, 0700): the sign-in can only be recorded by
  # the daemon, reached through its control socket.
  useradd --no-create-home --user-group --groups rollcall --shell /usr/sbin/nologin kiosk
  if as kiosk ls /var/lib/rollcall >/dev/null 2>&1; then fail "kiosk can read the agent's data"; fi
  as kiosk rollcall-agent --config /etc/rollcall/agent.json signin --trainee 11010519491231002X \
    --class TJ-2026-AI-0001 --session S01 --json | tee /tmp/signin.json
  grep -Eq '"verdict": *"inside"' /tmp/signin.json || fail "the sign-in was not judged inside"
  grep -Eq '"source": *"surveyed"' /tmp/signin.json || fail "the sign-in did not use the surveyed position"
  [ "$(stat -c %U /var/lib/rollcall/outbox.db)" = rollcall ] || fail "outbox.db is not rollcall's"
  if grep -rqa 11010519491231002X /var/lib/rollcall; then
    fail "the trainee's ID number is stored in clear"
  fi
  if journalctl --no-pager -o cat | grep -q 11010519491231002X; then
    fail "the trainee's ID number is in the journal"
  fi


  step "systemctl start rollcall-screen: the kiosk's page on 127.0.0.1:8480"
  timeout 60 systemctl start rollcall-screen || {
    journalctl -u rollcall-screen -n 20 --no-pager >&2
    fail "systemctl start rollcall-screen failed"
  }
  [ "$(systemctl is-active rollcall-screen)" = active ] || fail "rollcall-screen is not active"
  grep -q ':2120 00000000:0000 0A ' /proc/net/tcp || fail "nothing listens on 127.0.0.1:8480"
  show_is rollcall-screen User rollcall
  show_is rollcall-screen ProtectSystem strict
  confined rollcall-screen rollcall
  rated rollcall-screen.service
  ;;

stop)
  step "systemctl stop rollcall-screen rollcall-agent: clean stops"
  for u in rollcall-screen rollcall-agent; do
    timeout 60 systemctl stop $u || fail "systemctl stop $u failed"
    show_is $u Result success
  done
  [ ! -e /run/rollcall/control.sock ] || fail "the daemon left its control socket"
  ;;

*)
  fail "unknown stage $1"
  ;;
esac
