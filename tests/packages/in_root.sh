#!/bin/bash
# Runs inside the clean Debian 12 root made by test_debs.sh (chroot, no network, no systemd
# running): installs the packages from /root/debs with dpkg alone (their declared Depends are
# all the root has beyond minbase) and uses them. Each check fails with one line saying what.
set -euo pipefail
cd /root/debs
fail() { echo "packages test (in the root): $*" >&2; exit 1; }
as() { local user=$1; shift; setpriv --reuid "$user" --regid "$user" --init-groups -- "$@"; }
step() { echo "-- $*"; }

step "install rollcall-server and rollcall-verify"
dpkg -i rollcall-server_*.deb rollcall-verify_*.deb
getent passwd rollcall-server >/dev/null || fail "no system user rollcall-server"
[ "$(getent passwd rollcall-server | cut -d: -f7)" = /usr/sbin/nologin ] ||
  fail "rollcall-server has a login shell"
[ "$(stat -c %U:%G:%a /var/lib/rollcall)" = rollcall-server:rollcall-server:700 ] ||
  fail "/var/lib/rollcall is $(stat -c %U:%G:%a /var/lib/rollcall), not rollcall-server's 700"
dpkg-query -W -f='${Conffiles}\n' rollcall-server | grep -q '^ /etc/default/rollcall-server ' ||
  fail "/etc/default/rollcall-server is not a conffile"
[ -L /etc/systemd/system/multi-user.target.wants/rollcall-server.service ] ||
  fail "rollcall-server.service is not enabled"
grep -q '^ExecStart=/usr/bin/rollcall-server ' /lib/systemd/system/rollcall-server.service ||
  fail "the unit does not run /usr/bin/rollcall-server"

units_run_packaged() { # every ExecStart= of the named units runs an installed program
  local u prog
  for u in "$@"; do
    [ -f "/lib/systemd/system/$u" ] || fail "$u is not installed"
    for prog in $(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "/lib/systemd/system/$u"); do
      [ -x "$prog" ] || fail "$u runs $prog, which the package does not install"
    done
  done
}
units_run_packaged rollcall-server.service

for f in /usr/share/man/man1/rollcall-server.1.gz /usr/share/man/man5/rollcall-fence.5.gz \
  /usr/share/rollcall/console/index.html /usr/share/rollcall/catalogue.json; do
  [ -f "$f" ] || fail "rollcall-server lacks $f"
done

step "rollcall-server --version"
rollcall-server --version | tee /tmp/version
grep -q '0\.1\.0' /tmp/version || fail "--version does not say 0.1.0"

step "migrate a fresh database as rollcall-server"
as rollcall-server rollcall-server --db sqlite:/var/lib/rollcall/server.db migrate 2>/tmp/migrate.err
[ ! -s /tmp/migrate.err ] || fail "migrate complained: $(head -n 1 /tmp/migrate.err)"
[ "$(stat -c %U /var/lib/rollcall/server.db)" = rollcall-server ] ||
  fail "server.db is not owned by rollcall-server"
as rollcall-server rollcall-server --db sqlite:/var/lib/rollcall/server.db migrate ||
  fail "a second migrate failed"

step "a report on the empty database (the engine: PROJ, the catalogue and calendar files)"
# The engine's commands load PROJ (dlopen: a dependency declared by hand, debian/rules) and
# log an error when they cannot; they read the data files in /usr/share/rollcall.
as rollcall-server rollcall-server --db sqlite:/var/lib/rollcall/server.db report attendance \
  --institution INST-0001 >/tmp/report 2>/tmp/report.err || fail "report exited $?"
[ ! -s /tmp/report.err ] || fail "report complained: $(head -n 1 /tmp/report.err)"
grep -q '^policy ' /tmp/report || fail "report printed no policy line"

step "reinstall rollcall-server over itself (as an upgrade does): data, user and edited conffile kept"
echo 'ROLLCALL_SERVE_OPTS="--threads 8"' >>/etc/default/rollcall-server
dpkg -i rollcall-server_*.deb | tee /tmp/reinstall
grep -q 'already at schema version' /tmp/reinstall || fail "the upgrade's postinst did not migrate"
grep -q '^ROLLCALL_SERVE_OPTS="--threads 8"' /etc/default/rollcall-server ||
  fail "the reinstall replaced the edited conffile"
as rollcall-server rollcall-server --db sqlite:/var/lib/rollcall/server.db migrate ||
  fail "the database did not survive the reinstall"

step "rollcall-verify --help and its man page"
rollcall-verify --help >/tmp/verify-help 2>&1 || fail "rollcall-verify --help exited $?"
grep -qi 'usage' /tmp/verify-help || fail "rollcall-verify --help prints no usage"
[ -f /usr/share/man/man1/rollcall-verify.1.gz ] || fail "no rollcall-verify(1)"

step "remove, then purge rollcall-server without asking for the data: the data stays"
dpkg --remove rollcall-server
[ -f /var/lib/rollcall/server.db ] || fail "remove deleted the database"
[ -f /etc/default/rollcall-server ] || fail "remove deleted the conffile"
dpkg --purge rollcall-server
[ -f /var/lib/rollcall/server.db ] || fail "purge deleted the database though nobody asked"
[ ! -e /etc/default/rollcall-server ] || fail "purge left the conffile"
[ ! -e /etc/systemd/system/multi-user.target.wants/rollcall-server.service ] ||
  fail "purge left the unit enabled"
# The agent's package conflicts with the server's (same /var/lib/rollcall): a kiosk starts clean.
rm -rf /var/lib/rollcall

step "install rollcall-agent"
dpkg -i rollcall-agent_*.deb
getent passwd rollcall >/dev/null || fail "no system user rollcall"
[ "$(stat -c %U:%G:%a /var/lib/rollcall)" = rollcall:rollcall:700 ] ||
  fail "/var/lib/rollcall is $(stat -c %U:%G:%a /var/lib/rollcall), not rollcall's 700"
for u in rollcall-agent rollcall-screen; do
  [ -L /etc/systemd/system/multi-user.target.wants/$u.service ] || fail "$u.service is not enabled"
done
units_run_packaged rollcall-agent.service rollcall-screen.service
for f in /usr/share/man/man1/rollcall-agent.1.gz /usr/share/man/man5/rollcall-agent.json.5.gz \
  /usr/share/man/man5/rollcall-fence.5.gz /usr/share/rollcall/kiosk/index.html; do
  [ -f "$f" ] || fail "rollcall-agent lacks $f"
done
rollcall-agent --version

step "init from the packaged firmware profile, then a sign-in as rollcall"
# A square of about 220 m around the surveyed position of indoor-fixed-terminal (39.12, 117.20).
cat >/root/fence.geojson <<'JSON'
{"type": "FeatureCollection", "features": [{"type": "Feature",
 "properties": {"id": "pkg-square", "name": "packages test square", "datum": "WGS-84"},
 "geometry": {"type": "Polygon", "coordinates": [[[117.1987, 39.119], [117.2013, 39.119],
  [117.2013, 39.121], [117.1987, 39.121], [117.1987, 39.119]]]}}]}
JSON
echo 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff >/root/inst.key
chmod 600 /root/inst.key
rollcall-agent init --profile /usr/share/rollcall/firmware-profiles/indoor-fixed-terminal.json \
  --fence /root/fence.geojson --device-id KIOSK-PKG-1 --institution INST-0001 \
  --server https://collector.example --dir /var/lib/rollcall --institution-key /root/inst.key \
  --control-socket /run/rollcall/control.sock --control-group rollcall
chown -R rollcall:rollcall /var/lib/rollcall
chgrp rollcall /etc/rollcall/agent.json
as rollcall rollcall-agent signin --trainee 11010519491231002X --class TJ-2026-AI-0001 \
  --session S01 --json | tee /tmp/signin.json
grep -Eq '"verdict": *"inside"' /tmp/signin.json || fail "the sign-in was not judged inside"
grep -Eq '"source": *"surveyed"' /tmp/signin.json || fail "the sign-in did not use the surveyed position"
[ -f /var/lib/rollcall/outbox.db ] || fail "no outbox"
[ "$(stat -c %U /var/lib/rollcall/outbox.db)" = rollcall ] || fail "outbox.db is not rollcall's"
if grep -rqa 11010519491231002X /var/lib/rollcall; then
  fail "the trainee's ID number is stored in clear"
fi

step "purge rollcall-agent after asking for the data to go"
touch /etc/rollcall/delete-data-on-purge
dpkg --purge rollcall-agent
[ ! -e /var/lib/rollcall ] || fail "purge kept /var/lib/rollcall though the administrator asked"
[ -f /etc/rollcall/agent.json ] || fail "purge deleted the kiosk's config (the administrator's file)"
echo "packages test (in the root): all checks passed"
