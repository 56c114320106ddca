#!/usr/bin/env bash
# README command (2): install what is missing, build, and run the whole test suite.
#   scripts/test.sh [PRESET]   (default: asan, i.e. with AddressSanitizer and UBSan)
# The fuzz targets of the card parsers run first (clang, preset fuzz), then every test of PRESET.
# The tests start the servers they need themselves (pcscd with vpcd, PostgreSQL, kiosk-cloud);
# this script provides an X display (Xvfb) for the screenshot tests when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-asan}

scripts/install-deps.sh test
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"

# The card-data parsers' libFuzzer targets need clang: their own build (the card library and
# the fuzz targets only), each run briefly from an empty corpus before the suite itself.
fuzz_targets=$(sed -n 's/^foreach(target \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target $(printf 'fuzz_%s ' $fuzz_targets)
ctest --preset fuzz -R '^fuzz_' --output-on-failure

xvfb_pid=
cleanup() { [[ -n "$xvfb_pid" ]] && kill "$xvfb_pid" 2>/dev/null || true; }
trap cleanup EXIT
if [[ -z "${DISPLAY:-}" ]]; then
  display_file=$(mktemp)
  Xvfb -displayfd 3 -screen 0 1920x1920x24 -nolisten tcp 3>"$display_file" 2>/dev/null &
  xvfb_pid=$!
  for _ in $(seq 50); do [[ -s "$display_file" ]] && break; sleep 0.1; done
  [[ -s "$display_file" ]] || { echo "test: Xvfb did not start" >&2; exit 1; }
  export DISPLAY=":$(head -n1 "$display_file")"
  rm -f "$display_file"
  echo "test: Xvfb on $DISPLAY"
fi

ctest --preset "$preset"
