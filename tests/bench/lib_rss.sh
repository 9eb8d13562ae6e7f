#!/usr/bin/env bash
# What loading a set of shared libraries costs in resident memory before any code runs: an idle
# program (pause()) linked against each set, its VmRSS / RssAnon / RssFile read from
# /proc/PID/status. Explains the agent's idle VmRSS (docs/PERFORMANCE.md, "Agent").
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '#include <unistd.h>\nint main(void) { pause(); return 0; }\n' >"$dir/idle.c"
sets=("" "-lsqlite3 -lcjson -lmbedcrypto -lz" "-lgps" "-lcurl" "-lcrypto" "-lproj"
  "-lsqlite3 -lcjson -lmbedcrypto -lz -lgps -lcurl -lcrypto -lproj")
printf '%-60s %10s %10s %10s\n' "libraries" "VmRSS kB" "Anon kB" "File kB"
for libs in "${sets[@]}"; do
  # shellcheck disable=SC2086
  cc -O2 "$dir/idle.c" -o "$dir/idle" -Wl,--no-as-needed $libs -Wl,-z,relro,-z,now
  "$dir/idle" &
  pid=$!
  sleep 0.3
  read -r rss anon file < <(awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{print r, a, f}' "/proc/$pid/status")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  printf '%-60s %10s %10s %10s\n' "${libs:-(libc only)}" "$rss" "$anon" "$file"
done
