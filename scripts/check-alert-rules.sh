#!/usr/bin/env bash
# Checks the Prometheus alert rules (docs/prometheus/, docs/OPERATIONS.md "Alerts") with
# Prometheus's own promtool: `promtool check rules` (the file loads: syntax, PromQL, templates)
# and `promtool test rules` (docs/prometheus/rollcall.rules.test.yml: each alert fires on a
# synthetic series and stays quiet on a healthy one). ctest docs/alert-rules.
#
# promtool comes from Debian 12's `prometheus` package. When it is not on PATH, the package is
# fetched with `apt-get download` (19 MB) and only promtool is extracted with `dpkg-deb -x`
# into a cache (no maintainer script runs, no service is started):
#   ${ROLLCALL_PROMTOOL_CACHE:-build/promtool-cache}/<version>/usr/bin/promtool
# Usage: scripts/check-alert-rules.sh [RULES_DIR]
set -euo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
RULES="${1:-$SRC/docs/prometheus}"
CACHE="${ROLLCALL_PROMTOOL_CACHE:-$SRC/build/promtool-cache}"

promtool="$(command -v promtool || true)"
if [ -z "$promtool" ]; then
  version="$(apt-cache policy prometheus 2>/dev/null | sed -n 's/^ *Candidate: *//p')"
  if [ -z "$version" ] || [ "$version" = "(none)" ]; then
    echo "check-alert-rules: no promtool and apt knows no prometheus package (apt-get update)" >&2
    exit 1
  fi
  dir="$CACHE/$version"
  promtool="$dir/usr/bin/promtool"
  if [ ! -x "$promtool" ]; then
    mkdir -p "$CACHE"
    work="$(mktemp -d "$CACHE/download.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    # apt's _apt user must be able to write where it downloads.
    chmod 0777 "$work"
    (cd "$work" && apt-get download -q=2 "prometheus=$version") ||
      { echo "check-alert-rules: apt-get download prometheus=$version failed" >&2; exit 1; }
    dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb |
      tar -xf - -C "$work" ./usr/bin/promtool
    mkdir -p "$dir/usr/bin"
    mv "$work/usr/bin/promtool" "$promtool"
  fi
fi
"$promtool" --version 2>&1 | head -n 1

rules=()
for f in "$RULES"/*.yml; do
  case "$f" in *.test.yml) ;; *) rules+=("$f") ;; esac
done
[ "${#rules[@]}" -gt 0 ] || { echo "check-alert-rules: no rule file in $RULES" >&2; exit 1; }
"$promtool" check rules "${rules[@]}"
tests=("$RULES"/*.test.yml)
[ -f "${tests[0]}" ] || { echo "check-alert-rules: no unit test file (*.test.yml) in $RULES" >&2; exit 1; }
# Every alert a rule file defines has a unit test that expects it to fire.
for f in "${rules[@]}"; do
  for a in $(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\).*/\1/p' "$f"); do
    if ! grep -A2 "alertname: $a\$" "${tests[@]}" | grep -q 'exp_alerts: *$'; then
      echo "check-alert-rules: alert $a has no test in which it fires" >&2
      exit 1
    fi
  done
done
(cd "$RULES" && "$promtool" test rules "${tests[@]##*/}")
