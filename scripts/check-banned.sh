#!/usr/bin/env bash
# Fails when a banned unsafe C call appears in the project's sources (docs STYLE.md rule 6).
set -euo pipefail
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
pattern='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|atof)[[:space:]]*\('
hits=$(grep -rnE "$pattern" --include='*.c' --include='*.h' core agent server tests || true)
if [ -n "$hits" ]; then
  echo "banned functions used (use snprintf, strtol with checks, strtok_r):" >&2
  echo "$hits" >&2
  exit 1
fi

# Per-folder rule: under server/, only server/jsonin.c calls cJSON's parser (it holds the lock
# cJSON needs and runs the one text validator, core/utf8.h, over every parsed tree).
json_hits=$(grep -rnE '\bcJSON_Parse[A-Za-z]*[[:space:]]*\(' --include='*.c' --include='*.h' server |
  grep -v '^server/jsonin\.c:' || true)
if [ -n "$json_hits" ]; then
  echo "cJSON_Parse* under server/ outside server/jsonin.c (use jsonin_parse):" >&2
  echo "$json_hits" >&2
  exit 1
fi

# Per-folder rule: core/ never logs (STYLE.md rule 4). Leaf modules return the error to their
# caller (err buffer, or a status function); agent/ and server/ decide what to log.
# core/log.c is the logger itself.
hits=$(grep -nE '\blog_[a-z_]+[[:space:]]*\(|#[[:space:]]*include[[:space:]]*"log\.h"' \
  core/*.c core/*.h 2>/dev/null | grep -vE '^core/log\.(c|h):' || true)
if [ -n "$hits" ]; then
  echo "logging in core/ (return the error to the caller instead; only agent/ and server/ log):" >&2
  echo "$hits" >&2
  exit 1
fi

echo "no banned functions"
