#!/usr/bin/env bash
# Installs the npm tools in package-lock.json (Redocly CLI, which lints docs/openapi.yaml) into
# node_modules/ with `npm ci`, when node_modules/ is missing or was installed from another
# package-lock.json. Does nothing (and needs no network) otherwise. Needs nodejs and npm
# (scripts/install-deps.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
stamp=node_modules/.rollcall-package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/.bin/redocly ]; then
  exit 0
fi
echo "install-npm: npm ci (node_modules missing or stale)" >&2
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
