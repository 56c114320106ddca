#!/usr/bin/env bash
# README command (1): install what is missing, build, and start the kiosk in simulation mode.
# With a display it opens the kiosk window; with none (a server, CI) it runs under Xvfb and
# writes screenshots, and says where they are.
# The simulator is the program kiosk-sim: the kiosk's UI with an embedded cloud, demo cards
# and their meters; no money moves through it.
#   scripts/run-simulation.sh [extra kiosk-sim options, e.g. --windowed 1080x1920]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh run
cmake --preset run >/dev/null
cmake --build --preset run --target kiosk-sim
kiosk=build/run/kiosk/kiosk-sim

if [[ -n "${DISPLAY:-}" && -z "${CI:-}" ]]; then
  echo "Starting the kiosk in simulation mode (close the window to quit)."
  exec "$kiosk" "$@"
fi

out=build/run/screenshots
rm -rf "$out"
mkdir -p "$out"
echo "No display: running the scripted demo under Xvfb; screenshots go to $out/"
for run in portrait:1080x1920:zh-CN landscape:1920x1080:en; do
  IFS=: read -r name size lang <<<"$run"
  xvfb-run -a -s "-screen 0 1920x1920x24" \
    "$kiosk" --demo --demo-dir "$out/$name-$lang" --windowed "$size" --lang "$lang" \
    --log-level warn "$@"
  echo "  $out/$name-$lang/: $(ls "$out/$name-$lang" | grep -c '\.png$') screenshots"
done
