#!/usr/bin/env bash
# Builds the Debian packages rollcall-agent, rollcall-server and rollcall-verify from this
# source tree (docs/INSTALL.md "Building the packages"), checks them with lintian, and leaves
# them in OUTDIR (default build/deb/):
#   scripts/build-debs.sh [OUTDIR]
# dpkg-buildpackage runs on a copy of the tree (the files git tracks or would track, edits
# included), so the checkout gets no debian/ build debris and the .debs land in OUTDIR.
# Environment: ROLLCALL_DEB_JOBS (parallel jobs, default: the number of cores),
# ROLLCALL_DEB_LINTIAN=0 to skip lintian.
set -euo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$SRC/build/deb}"
JOBS="${ROLLCALL_DEB_JOBS:-$(nproc)}"

for tool in dpkg-buildpackage dh lintian; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-debs: $tool missing: bash scripts/install-deps.sh" >&2
    exit 1
  fi
done

# The console (share/rollcall/console, in rollcall-server) is bundled by esbuild from npm.
if [ ! -f "$SRC/node_modules/esbuild/package.json" ]; then
  echo "build-debs: the console's bundler (esbuild) is missing: bash scripts/install-npm.sh" >&2
  exit 1
fi

version="$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
tree="$OUT/rollcall-$version"
rm -rf "$tree"
mkdir -p "$tree"
(
  cd "$SRC"
  git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"
  done | tar --null -T - -cf - | tar -xf - -C "$tree"
)
# The console's bundler (esbuild, from npm: scripts/install-npm.sh) is read from the checkout.
ln -s "$SRC/node_modules" "$tree/node_modules"

rm -f "$OUT"/rollcall*_"$version"_*.deb "$OUT"/rollcall_"$version"_*.changes \
  "$OUT"/rollcall_"$version"_*.buildinfo
(
  cd "$tree"
  DEB_BUILD_OPTIONS="parallel=$JOBS ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b >"$OUT/build.log" 2>&1
) || {
  tail -n 40 "$OUT/build.log" >&2
  echo "build-debs: dpkg-buildpackage failed (whole log: $OUT/build.log)" >&2
  exit 1
}
changes="$(ls "$OUT"/rollcall_"$version"_*.changes)"
rm -rf "$tree"

if [ "${ROLLCALL_DEB_LINTIAN:-1}" != 0 ]; then
  # Errors and warnings fail; every remaining warning is overridden with its reason in
  # debian/<package>.lintian-overrides.
  lintian --fail-on error,warning --suppress-tags unused-override "$changes"
fi
ls -1 "$OUT"/rollcall*_"$version"_*.deb
