#!/usr/bin/env bash
# Fails when a storage back-end (server/store/store_sqlite*, store_pg*) includes a header from
# above the store: the engine's types (engine/plan.h, engine/catalogue.h ...), ingest, report.
# The back-ends see the flat rows of store/store.h only; store/store_map.c maps the engine's
# types to and from them, once for every back-end (docs/BUILDING.md "The storage back-ends").
# Allowed: "store/..." headers and core headers (included by name, no folder).
set -euo pipefail
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
shopt -s nullglob
files=(server/store/store_sqlite*.[ch] server/store/store_pg*.[ch])
if [ ${#files[@]} -eq 0 ]; then
  echo "no back-end files under $top/server/store" >&2
  exit 1
fi
hits=$(grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*/' "${files[@]}" |
  grep -vE '#[[:space:]]*include[[:space:]]*"store/' || true)
if [ -n "$hits" ]; then
  echo "a storage back-end includes a header from above the store (map in store/store_map.c):" >&2
  echo "$hits" >&2
  exit 1
fi
echo "storage back-ends include store/ and core headers only (${#files[@]} files)"
