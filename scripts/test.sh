#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, checks formatting and banned calls,
# builds and runs every test (unit, integration, fuzz-corpus replay) in a Release build with
# -Werror (with the Redocly lint of docs/openapi.yaml, ctest label `openapi`) and again under
# AddressSanitizer + UndefinedBehaviorSanitizer, runs the collector's
# threaded tests (ctest label `collector`) under ThreadSanitizer, checks that the other CMake
# build types (Debug, RelWithDebInfo, MinSizeRel, None) build warning-free, then runs each
# libFuzzer target for ${ROLLCALL_FUZZ_SECONDS:-30} seconds. Exits non-zero on any failure.
# Each ctest run starts its own throwaway PostgreSQL 15 for the tests labelled `pg` (fixture
# pg/start, pg/stop: scripts/pg-test-server.sh) and stops it afterwards.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
fuzz_seconds=${ROLLCALL_FUZZ_SECONDS:-30}

step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh
bash scripts/install-npm.sh

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
build build/release -DCMAKE_BUILD_TYPE=Release
step "tests, release build"
ctest --test-dir build/release -j "$jobs" --output-on-failure

step "sanitizer build (ASan + UBSan)"
build build/asan -DCMAKE_BUILD_TYPE=Debug -DROLLCALL_SANITIZE=ON
step "tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan -j "$jobs" --output-on-failure

step "ThreadSanitizer build"
build build/tsan -DCMAKE_BUILD_TYPE=Debug -DROLLCALL_TSAN=ON
step "the collector's threaded tests under TSan (ctest -L collector)"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir build/tsan -L collector -j "$jobs" --output-on-failure

step "the other build types build warning-free (programs and tests, -Werror)"
for type in Debug RelWithDebInfo MinSizeRel None; do
  build "build/type-$type" -DCMAKE_BUILD_TYPE="$type"
  echo "$type: built"
done

step "fuzzing (libFuzzer, ${fuzz_seconds}s per target)"
CC=clang build build/fuzz -DCMAKE_BUILD_TYPE=Debug -DROLLCALL_FUZZ=ON
shopt -s nullglob
mkdir -p build/fuzz/artifacts
# One fuzzer per core at a time; each writes its own log, and any finding fails the suite.
fuzz_one() {
  local target=$1 name
  name=$(basename "$target")
  local work=build/fuzz/corpus-$name
  mkdir -p "$work"
  if "$target" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=build/fuzz/artifacts/"$name"- -print_final_stats=0 \
    "$work" "tests/fuzz/corpus/$name" >"build/fuzz/$name.log" 2>&1; then
    # libFuzzer's last line says "Done N runs in S second(s)" (a '#N' may also stand in the
    # recommended dictionary printed before it, so that is not read)
    echo "fuzz: $name: $(grep -oE '^Done [0-9]+ runs' "build/fuzz/$name.log" | tail -1 |
      grep -oE '[0-9]+') runs, no finding"
  else
    tail -50 "build/fuzz/$name.log"
    echo "fuzz: $name found a failure (input in build/fuzz/artifacts/)"
    return 1
  fi
}
pids=()
failed=0
for target in build/fuzz/tests/fuzz_*; do
  [ -x "$target" ] || continue
  fuzz_one "$target" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
[ "$failed" -eq 0 ] || { echo "fuzzing found a failure"; exit 1; }

step "all tests passed"
