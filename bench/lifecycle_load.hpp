#pragma once
// The load of kiosks topping up cards, shared by the cloud benchmarks: each simulated kiosk
// runs full order lifecycles (create, pay on the simulated provider's page, fetch the write
// script, confirm delivery) one after another, as fast as the service answers.

#include <string>
#include <utility>
#include <vector>

namespace kiosk::bench {

struct LifecycleFigures {
  int kiosks = 0;
  double lifecyclesPerSecond = 0;
  double requestP50 = 0, requestP99 = 0;  // ms, every request of the kiosks and their phones
  double lifecycleP50 = 0, lifecycleP99 = 0;
  int failures = 0;
};

using KioskCredentials = std::vector<std::pair<std::string, std::string>>;  // id, secret

// Creates one account, meter and card per simulated kiosk, and the kiosks themselves, through
// the admin API of the kiosk-cloud on `port`.
KioskCredentials provisionKiosks(int port, int count);

// Runs `kiosks` (the first of `credentials`) for `seconds`.
LifecycleFigures runLifecycles(int port, const KioskCredentials& credentials, int kiosks, double seconds);

double percentile(std::vector<double>& values, double p);

}  // namespace kiosk::bench
