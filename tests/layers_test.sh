#!/usr/bin/env bash
# The binaries keep their layers: what a production kiosk, the simulator and kiosk-cloud link.
#   layers_test.sh KIOSK KIOSK_SIM KIOSK_CLOUD
set -uo pipefail
kiosk=$1 sim=$2 cloud=$3
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

libs() { ldd "$1" | awk '{print $1}'; }
symbols() { nm -C --defined-only "$1"; }

# The production kiosk: no database client of the cloud, no cloud code, no simulated parts.
# (Each listing is read whole before grep looks at it: grep -q may stop reading early.)
kiosk_libs=$(libs "$kiosk")
grep -q '^libpq\.' <<<"$kiosk_libs" && fail "kiosk links libpq"
grep -q '^libpcsclite\.' <<<"$kiosk_libs" || fail "kiosk does not link libpcsclite (its reader)"
kiosk_symbols=$(symbols "$kiosk")
for namespace in 'kiosk::cloud::' 'kiosk::sim::'; do
  grep -q "$namespace" <<<"$kiosk_symbols" && fail "kiosk holds $namespace symbols: $(grep -m3 "$namespace" <<<"$kiosk_symbols")"
done
for class in 'kiosk::card::VirtualCard' 'kiosk::card::VirtualMeter' 'kiosk::card::LocalChannel' 'answerPayPage'; do
  grep -q "$class" <<<"$kiosk_symbols" && fail "kiosk holds $class"
done

# The simulator embeds the cloud.
sim_symbols=$(symbols "$sim")
grep -q 'kiosk::cloud::EmbeddedCloud' <<<"$sim_symbols" || fail "kiosk-sim has no embedded cloud"

# kiosk-cloud reads no card readers.
cloud_libs=$(libs "$cloud")
grep -q '^libpcsclite\.' <<<"$cloud_libs" && fail "kiosk-cloud links libpcsclite"

# `kiosk --simulate` says where the simulator is.
message=$("$kiosk" --simulate 2>&1)
status=$?
[[ $status -eq 2 ]] || fail "kiosk --simulate exited $status, expected 2"
grep -q 'kiosk-sim' <<<"$message" || fail "kiosk --simulate does not name kiosk-sim: $message"

if ((failures > 0)); then
  echo "$failures layer check(s) failed"
  exit 1
fi
echo "kiosk: $(wc -l <<<"$kiosk_libs") libraries, none of the cloud's; kiosk-cloud: no pcsc-lite"
