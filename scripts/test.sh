#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, checks formatting and banned calls,
# builds and runs every test (unit, integration, fuzz-corpus replay) in a release build with
# -Werror and again under AddressSanitizer + UndefinedBehaviorSanitizer, then runs each
# libFuzzer target for ${ROLLCALL_FUZZ_SECONDS:-30} seconds. Exits non-zero on any failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
fuzz_seconds=${ROLLCALL_FUZZ_SECONDS:-30}

step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh

step "formatting (clang-format) and banned functions"
mapfile -t sources < <(git ls-files -co --exclude-standard -- '*.c' '*.h')
if [ "${#sources[@]}" -gt 0 ]; then
  clang-format --dry-run --Werror "${sources[@]}"
fi
bash scripts/check-banned.sh "$top"

build() { # dir, cmake options...
  local dir=$1
  shift
  cmake -S "$top" -B "$dir" -DROLLCALL_WERROR=ON "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  local rc=0
  cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1 || rc=$?
  grep -vE '^\[ *[0-9]+%\]' "$dir.build.log" || true
  return "$rc"
}

mkdir -p build
step "release build (-Werror)"
build build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
step "tests, release build"
ctest --test-dir build/release -j "$jobs" --output-on-failure

step "sanitizer build (ASan + UBSan)"
build build/asan -DCMAKE_BUILD_TYPE=Debug -DROLLCALL_SANITIZE=ON
step "tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan -j "$jobs" --output-on-failure

step "fuzzing (libFuzzer, ${fuzz_seconds}s per target)"
CC=clang build build/fuzz -DCMAKE_BUILD_TYPE=Debug -DROLLCALL_FUZZ=ON
shopt -s nullglob
for target in build/fuzz/tests/fuzz_*; do
  name=$(basename "$target")
  [ -x "$target" ] || continue
  work=build/fuzz/corpus-$name
  mkdir -p "$work" build/fuzz/artifacts
  seeds=tests/fuzz/corpus/$name
  echo "fuzz: $name"
  "$target" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=build/fuzz/artifacts/"$name"- -print_final_stats=0 \
    "$work" "$seeds" >"build/fuzz/$name.log" 2>&1 ||
    { tail -50 "build/fuzz/$name.log"; echo "fuzz: $name found a failure"; exit 1; }
  grep -E '^Done|#[0-9]+.*DONE' "build/fuzz/$name.log" | tail -1 || true
done

step "all tests passed"
