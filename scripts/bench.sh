#!/usr/bin/env bash
# Builds the release preset and runs every benchmark in bench/. Each prints its figures and
# their ratio to a baseline measured in the same run, and exits non-zero when it misses its
# targets; this script runs them all and exits 1 if any missed.
#   scripts/bench.sh [ARGS...]   (ARGS go to every benchmark, e.g. --iterations 1000)
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --preset release >/dev/null
cmake --build --preset release

status=0
for bench in build/release/bench/*; do
  [[ -f "$bench" && -x "$bench" ]] || continue
  echo "== $(basename "$bench")"
  "$bench" "$@" || status=1
done
exit "$status"
