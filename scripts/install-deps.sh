#!/usr/bin/env bash
# Installs the Debian 12 packages the kiosk needs, and nothing that is already there.
#   scripts/install-deps.sh run    build and run the kiosk (simulation, screenshots under Xvfb)
#   scripts/install-deps.sh test   everything above plus the servers and tools the tests use
# Checks first, runs `apt-get update` at most once, then installs only what is missing.
set -euo pipefail

profile=${1:-test}

build_pkgs=(
  build-essential cmake ninja-build pkg-config git
  libimgui-dev libsdl2-dev libgl-dev libfreetype-dev libstb-dev fonts-noto-cjk
  libcurl4-openssl-dev libssl-dev libpcsclite-dev libqrencode-dev nlohmann-json3-dev
  libsqlite3-dev libpq-dev libcpp-httplib-dev libboost-dev libspdlog-dev libfmt-dev libcli11-dev
  libhowardhinnant-date-dev tzdata
  pcscd libccid vsmartcard-vpcd xvfb xauth libgl1-mesa-dri
)
test_pkgs=(
  libgtest-dev libgmock-dev libbenchmark-dev
  clang clang-tidy libclang-rt-14-dev
  pcsc-tools postgresql zbar-tools xdotool chromium imagemagick procps iproute2 curl openssl
)

case "$profile" in
  run) wanted=("${build_pkgs[@]}") ;;
  test) wanted=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 [run|test]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#wanted[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

# pcscd's package may start the system service; the tests run their own pcscd in the
# foreground with their own reader.conf, and only one pcscd can own /run/pcscd.
if command -v systemctl >/dev/null && systemctl is-active --quiet pcscd.socket 2>/dev/null; then
  "${sudo[@]}" systemctl disable --now pcscd.socket pcscd.service >/dev/null 2>&1 || true
fi
echo "install-deps: done"
