#!/usr/bin/env bash
# Installs the npm tools in package-lock.json (Redocly CLI, which lints docs/openapi.yaml;
# playwright-core, which drives Debian's chromium in the browser tests; esbuild, ECharts and
# Leaflet, which the build bundles into the console, scripts/build-console.mjs) into
# node_modules/ with `npm ci`, when node_modules/ is missing or was installed from another
# package-lock.json. Does nothing (and needs no network) otherwise. Needs nodejs and npm
# (scripts/install-deps.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
stamp=node_modules/.rollcall-package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/.bin/redocly ] &&
  [ -f node_modules/playwright-core/package.json ] && [ -f node_modules/esbuild/package.json ]; then
  exit 0
fi
# playwright-core is pinned at 1.61.1, the last release that runs on Node.js 18: 1.62 and later
# refuse to start on anything below 20 ("Playwright requires Node.js 20 or higher"), and
# Debian 12's nodejs is 18. Redocly CLI 1.34 needs Node.js 18.17 or later (Debian 12's nodejs is 18.19; npm 9.2 is below
# the npm it names, which npm ci only warns about). A machine's own older Node.js fails here,
# clearly, rather than inside the lint test.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
  process.exit(a > 18 || (a === 18 && b >= 17) ? 0 : 1)'; then
  echo "install-npm: Node.js 18.17 or later needed, found $(node --version)" >&2
  exit 1
fi
echo "install-npm: npm ci (node_modules missing or stale)" >&2
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
