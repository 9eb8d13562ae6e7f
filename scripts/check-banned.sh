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
echo "no banned functions"
