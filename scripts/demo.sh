#!/usr/bin/env bash
# The end-to-end demo: installs what is missing, builds, then plays a teaching day through a
# collector (embedded SQLite, self-signed TLS), gpsd fed NMEA at the venue, and two kiosk
# agents, and prints the class report with its findings; exits 1 when the findings are not
# exactly the day's deliberate problems (scripts/demo.py says how). Then the collector keeps
# serving the console with the day's data until Ctrl-C: the address and a demo account with
# its password are printed (docs/CONSOLE.md). `scripts/demo.sh --no-console` stops there.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh
bash scripts/install-npm.sh
mkdir -p build
echo "building (build/release) ..."
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  >build/release.configure.log 2>&1 || { cat build/release.configure.log; exit 1; }
cmake --build build/release -j "$(nproc)" --target rollcall-agent rollcall-agentd rollcall-server console \
  >build/release.build.log 2>&1 || { tail -40 build/release.build.log; exit 1; }
# Debian's interpreter: gpsfake needs its python3-gps.
console=--console
args=()
for a in "$@"; do
  if [ "$a" = --no-console ]; then console=; else args+=("$a"); fi
done
exec /usr/bin/python3 scripts/demo.py $console "${args[@]}"
