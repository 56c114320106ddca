#include "bench/lifecycle_load.hpp"

#include "tests/support/cloud_fixture.hpp"

#include "card/crypto.hpp"
#include "card/profile.hpp"
#include "platform/bytes.hpp"
#include "protocol/signing.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

namespace kiosk::bench {

using cloud::test::AdminClient;
using cloud::test::KioskClient;
using Clock = std::chrono::steady_clock;

namespace {

// The key every benchmark card signs its delivery proofs with (registered with each card).
const card::EcKey& cardKey() {
  static const card::EcKey key = card::EcKey::generate().value();
  return key;
}

// The card's proof for the token of a /script answer; none from a build that issues no
// delivery nonce (an older build, compared in the same run), which asks for none.
nlohmann::json cardProof(const std::string& cardNumber, const nlohmann::json& script) {
  if (!script.contains("delivery_nonce")) return nullptr;
  const auto record = kiosk::fromHex(script["token"]["hex"].get<std::string>());
  const auto nonce = kiosk::fromHex(script["delivery_nonce"].get<std::string>());
  if (!record || !nonce) return nullptr;
  const auto sequence = script["token"]["sequence"].get<std::uint32_t>();
  const auto message = card::deliveryProofMessage(std::stoull(cardNumber), card::creditRecordFor(sequence),
                                                  *record, *nonce);
  return {{"card_signature", kiosk::toHex(cardKey().sign(message).value())}};
}

}  // namespace

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  return values[index];
}

KioskCredentials provisionKiosks(int port, int count) {
  AdminClient admin(port);
  KioskCredentials kiosks;
  for (int i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    admin.post("/v1/admin/accounts", {{"id", "BENCH-" + n}, {"resident", "Bench " + n},
                                      {"building", "B" + std::to_string(i % 4)}, {"room", n},
                                      {"household", "H" + n}, {"fee_policy", "CREDIT_ONLY"}});
    admin.post("/v1/admin/meters", {{"number", std::to_string(70000000 + i)}, {"account_id", "BENCH-" + n},
                                    {"utility", "electricity"}, {"tariff_id", "res-single"}});
    admin.post("/v1/admin/cards", {{"number", std::to_string(9900000000LL + i)}, {"kind", "resident"},
                                   {"account_id", "BENCH-" + n},
                                   {"meter_number", std::to_string(70000000 + i)},
                                   {"public_key", kiosk::toHex(cardKey().publicPoint())}});
    auto kiosk = admin.post("/v1/admin/kiosks", {{"id", "bench-kiosk-" + n}, {"building", "B"}});
    kiosks.emplace_back("bench-kiosk-" + n, kiosk.body.value("secret", ""));
  }
  return kiosks;
}

LifecycleFigures runLifecycles(int port, const KioskCredentials& kiosks, int level, double seconds) {
  std::atomic<bool> stop{false};
  std::atomic<int> lifecycles{0};
  std::atomic<int> failures{0};
  std::mutex mutex;
  std::vector<double> requestMs;
  std::vector<double> lifecycleMs;
  std::vector<std::thread> threads;
  auto noteFailure = [&](const char* step, int status, const std::string& text) {
    if (failures++ < 3) std::fprintf(stderr, "  failure in %s: %d %s\n", step, status, text.c_str());
  };
  for (int k = 0; k < level; ++k) {
    threads.emplace_back([&, k] {
      KioskClient kiosk(port, kiosks[static_cast<std::size_t>(k)].first,
                        kiosks[static_cast<std::size_t>(k)].second);
      httplib::Client phone("127.0.0.1", port);
      phone.set_keep_alive(true);
      phone.set_tcp_nodelay(true);
      const std::string card = std::to_string(9900000000LL + k);
      std::vector<double> myRequests;
      std::vector<double> myLifecycles;
      auto timed = [&](auto&& call) {
        const auto t0 = Clock::now();
        auto reply = call();
        myRequests.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        return reply;
      };
      while (!stop) {
        const auto start = Clock::now();
        auto created = timed([&] {
          return kiosk.post("/v1/kiosk/orders", {{"idempotency_key", protocol::randomHex(8)}, {"card_number", card},
                                                 {"amount", 1000}, {"challenge", protocol::randomHex(8)}});
        });
        if (created.status != 201) {
          noteFailure("create", created.status, created.text);
          continue;
        }
        const std::string id = created.body["order_id"];
        auto paid = timed([&] {
          auto r = phone.Post(("/pay/" + id).c_str(), "action=pay", "application/x-www-form-urlencoded");
          return r ? r->status : -1;
        });
        auto script = timed([&] {
          return kiosk.post("/v1/kiosk/orders/" + id + "/script",
                            {{"card_number", card}, {"challenge", protocol::randomHex(8)}});
        });
        if (paid != 200 || script.status != 200) {
          noteFailure(paid != 200 ? "pay" : "script", paid != 200 ? paid : script.status, script.text);
          continue;
        }
        auto delivered = timed([&] {
          nlohmann::json body{{"card_number", card}, {"sequence", script.body["token"]["sequence"]}};
          if (auto proof = cardProof(card, script.body); !proof.is_null()) body["proof"] = std::move(proof);
          return kiosk.post("/v1/kiosk/orders/" + id + "/delivered", body);
        });
        if (delivered.status != 200) {
          noteFailure("deliver", delivered.status, delivered.text);
          continue;
        }
        ++lifecycles;
        myLifecycles.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      }
      std::lock_guard lock(mutex);
      requestMs.insert(requestMs.end(), myRequests.begin(), myRequests.end());
      lifecycleMs.insert(lifecycleMs.end(), myLifecycles.begin(), myLifecycles.end());
    });
  }
  const auto started = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  LifecycleFigures result;
  result.kiosks = level;
  result.lifecyclesPerSecond = lifecycles / elapsed;
  result.requestP50 = percentile(requestMs, 0.50);
  result.requestP99 = percentile(requestMs, 0.99);
  result.lifecycleP50 = percentile(lifecycleMs, 0.50);
  result.lifecycleP99 = percentile(lifecycleMs, 0.99);
  result.failures = failures;
  return result;
}

}  // namespace kiosk::bench
