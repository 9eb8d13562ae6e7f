#!/usr/bin/env bash
# The end-to-end demo. It arrives with the attendance engine; until then this builds the
# programs and says so.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j "$(nproc)" >/dev/null
echo "demo: programs built in build/release; the end-to-end demo arrives with the attendance engine."
