#!/usr/bin/env bash
# Installs the Debian 12 packages Rollcall's build, demo and tests need.
# Does nothing (and needs no network) when they are all present.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang clang-format clang-tidy libclang-rt-14-dev
  libcurl4-openssl-dev libssl-dev libcjson-dev libgps-dev libsqlite3-dev sqlite3 libmbedtls-dev
  libmicrohttpd-dev libwslay-dev libpq-dev zlib1g-dev libxlsxwriter-dev libargon2-dev libcmocka-dev
  libproj-dev libsystemd-dev systemd gpsd gpsd-clients geographiclib-tools libgeos-dev faketime openssl
  python3 python3-openpyxl python3-yaml python3-jsonschema curl procps iproute2 tzdata gdal-bin
  nodejs npm postgresql-15 postgresql-client-15 python3-psycopg2 gettext
  chromium fonts-noto-cjk cage xwayland grim wtype python3-pil
  debhelper dpkg-dev fakeroot lintian mmdebstrap systemd-container git
)
# promtool (ctest docs/alert-rules) is not installed: scripts/check-alert-rules.sh extracts it
# alone from Debian's prometheus package (apt-get download), so no Prometheus service is set up.

missing=()
for p in "${PKGS[@]}"; do
  # NodeSource's nodejs package (a newer Node.js some machines use) ships npm itself and
  # conflicts with Debian's npm package: a working node or npm command is enough.
  if { [ "$p" = nodejs ] && command -v node >/dev/null; } ||
    { [ "$p" = npm ] && command -v npm >/dev/null; }; then
    continue
  fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# gpsd's package enables a system daemon on port 2947; tests use private ports, and a kiosk
# configures its own, so leave the system one alone rather than fight it.
