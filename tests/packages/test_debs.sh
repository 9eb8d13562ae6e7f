#!/usr/bin/env bash
# ctest packages/debs (label `packages`): builds the Debian packages (scripts/build-debs.sh, with
# lintian: no error, no warning not overridden), then installs them into a clean Debian 12 root
# and uses them there (in_root.sh): rollcall-server --version, migrate as the service user,
# rollcall-verify --help, remove and purge keeping the data, then rollcall-agent init from the
# packaged firmware profile, a sign-in as the agent's user, and a purge that deletes the data
# because the administrator asked for it. docs/INSTALL.md "Tests".
#
# The root is made by mmdebstrap (variant minbase) from the Debian mirror this machine uses,
# plus exactly the packages the .debs declare in Depends (so a missing dependency fails the
# test), and cached as a tarball under build/debroot-cache/ (keyed by that list): later runs
# only unpack it. Needs root (chroot, mounts in a private mount namespace: nothing is left
# mounted). Usage: test_debs.sh OUTDIR
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$(cd "$HERE/../.." && pwd)"
OUT="${1:?usage: test_debs.sh OUTDIR}"

if [ "$(id -u)" -ne 0 ]; then
  echo "packages test: needs root (chroot and mounts into the Debian 12 root)" >&2
  exit 1
fi

t0=$SECONDS
ROLLCALL_DEB_JOBS="${ROLLCALL_DEB_JOBS:-2}" bash "$SRC/scripts/build-debs.sh" "$OUT"
echo "packages test: built and linted in $((SECONDS - t0)) s"
version="$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)"
debs=()
for p in rollcall-server rollcall-verify rollcall-agent; do
  f="$OUT/${p}_${version}_$(dpkg --print-architecture).deb"
  [ -f "$f" ] || { echo "packages test: $f was not built" >&2; exit 1; }
  debs+=("$f")
done

# The units as packaged rate 2.0 or lower ("OK") with systemd-analyze security, as the source
# tree's do (tests/integration/test_units.py): read from the unpacked .debs.
units="$(mktemp -d "$OUT/units.XXXXXX")"
dpkg-deb -x "$OUT/rollcall-server_${version}_$(dpkg --print-architecture).deb" "$units"
dpkg-deb -x "$OUT/rollcall-agent_${version}_$(dpkg --print-architecture).deb" "$units"
for u in rollcall-server.service rollcall-agent.service rollcall-screen.service; do
  [ -f "$units/lib/systemd/system/$u" ] || { echo "packages test: $u is not packaged" >&2; exit 1; }
  if ! SYSTEMD_COLORS=0 systemd-analyze security --offline=true --threshold=20 --no-pager \
    --root="$units" "$u" >"$units/security.txt" 2>&1; then
    tail -n 3 "$units/security.txt" >&2
    echo "packages test: the packaged $u rates above 2.0" >&2
    exit 1
  fi
  grep -o "Overall exposure level for $u: .*" "$units/security.txt"
done
rm -rf "$units"

# The clean root: minbase plus every dependency the .debs declare (debroot.sh).
# shellcheck source=tests/packages/debroot.sh
. "$HERE/debroot.sh"
debroot_tarball "" "${debs[@]}"

root="$(mktemp -d "$OUT/root.XXXXXX")"
trap 'rm -rf "$root"' EXIT
tar -xf "$tarball" -C "$root"
mkdir -p "$root/root/debs"
cp "${debs[@]}" "$root/root/debs/"
cp "$HERE/in_root.sh" "$root/root/in_root.sh"

t2=$SECONDS
# A private mount namespace: /dev and /proc mounted into the root vanish with this process.
unshare --mount --propagation private -- sh -c '
  set -e
  mount --rbind /dev "$1/dev"
  mount -t proc proc "$1/proc"
  exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    /bin/bash /root/in_root.sh' sh "$root"
echo "packages test: installed and used in the clean root in $((SECONDS - t2)) s (whole test $((SECONDS - t0)) s)"
