# shellcheck shell=bash
# Sourced by test_debs.sh and test_boot.sh: the clean Debian 12 root the packages go into.
# debroot_tarball EXTRA DEB... sets $tarball to a cached tarball of an mmdebstrap minbase root
# with exactly the packages the given .debs declare in Depends (first of alternatives, versions
# dropped, ours excluded: a missing dependency fails the test) plus EXTRA (comma-separated, may
# be empty), made from the Debian mirror this machine uses and cached under
# ${ROLLCALL_DEBROOT_CACHE:-build/debroot-cache}/ keyed by that list: later runs only unpack it.
debroot_tarball() {
  local extra=$1
  shift
  local mirror="${ROLLCALL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  local security="${ROLLCALL_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}"
  local cache="${ROLLCALL_DEBROOT_CACHE:-$SRC/build/debroot-cache}"
  local deps key t1 f
  deps="$(for f in "$@"; do dpkg-deb -f "$f" Depends | tr ',' '\n'; done |
    sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' | grep -v '^rollcall' | grep . | sort -u |
    paste -sd, -)"
  [ -z "$extra" ] || deps="$deps,$extra"
  key="$(printf 'bookworm minbase %s %s %s' "$mirror" "$security" "$deps" | sha256sum | cut -c1-16)"
  tarball="$cache/bookworm-minbase-$key.tar"
  if [ ! -f "$tarball" ]; then
    mkdir -p "$cache"
    t1=$SECONDS
    echo "packages test: making the Debian 12 root (mmdebstrap minbase + $deps)"
    mmdebstrap --quiet --format=tar --variant=minbase --include="$deps" bookworm "$tarball.part" \
      "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
      "deb $security bookworm-security main"
    mv "$tarball.part" "$tarball"
    echo "packages test: root made in $((SECONDS - t1)) s, cached as $tarball"
  fi
}
