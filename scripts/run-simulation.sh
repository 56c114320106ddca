#!/usr/bin/env bash
# README command (1): install what is missing, build, and start the kiosk in simulation mode.
# With a display it opens the kiosk window; with none (a server, CI) it runs under Xvfb and
# writes screenshots, and says where they are.
#   scripts/run-simulation.sh [extra kiosk options, e.g. --windowed 1080x1920]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh run
cmake --preset run >/dev/null
cmake --build --preset run --target kiosk
kiosk=build/run/kiosk/kiosk

if [[ -n "${DISPLAY:-}" && -z "${CI:-}" ]]; then
  echo "Starting the kiosk in simulation mode (close the window to quit)."
  exec "$kiosk" --simulate "$@"
fi

out=build/run/screenshots
mkdir -p "$out"
echo "No display: running the kiosk under Xvfb and writing screenshots to $out/"
for orientation in portrait:1080x1920 landscape:1920x1080; do
  name=${orientation%%:*}
  size=${orientation##*:}
  for lang in zh-CN en; do
    xvfb-run -a -s "-screen 0 1920x1920x24" \
      "$kiosk" --simulate --windowed "$size" --lang "$lang" --log-level warn \
      --screenshot "$out/attract_${lang}_${name}.png" "$@"
    echo "  $out/attract_${lang}_${name}.png"
  done
done
