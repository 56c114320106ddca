#include "cloud/server_impl.hpp"

// The sweeper: expires orders nobody paid in time, sends the refunds that wait, forgets nonces
// too old to be replayed.

namespace kiosk::cloud {
namespace {

// How long a sweeper's claim on a refund holds: well beyond one provider call, so that only a
// process that died lets another one ask again.
constexpr std::int64_t kRefundClaimSeconds = 60;

}  // namespace

void Server::Impl::wakeSweeper() { sweepCv.notify_all(); }

void Server::Impl::sweepOnce() {
  auto expired = store.expireOrders(now());
  if (expired) {
    for (const auto& id : *expired) {
      metrics.count("kiosk_cloud_orders_expired_total");
      spdlog::info("order {} expired", id);
    }
  } else {
    spdlog::warn("sweeper: {}", expired.error().message);
  }
  // Claimed before the provider hears of it: of all the processes sweeping one database,
  // one asks for each refund. If this process dies in between, the claim lapses and another
  // sweep asks again, which the provider's idempotency by order id makes harmless.
  auto refunds = store.claimRefunds(refundClaimant, now(), kRefundClaimSeconds, 50);
  if (refunds) {
    for (const auto& order : *refunds) {
      auto sent = provider.refund(order);
      if (!sent) {
        spdlog::warn("refund of {} failed: {}", order.id, sent.error().message);
        (void)store.releaseRefund(order.id, refundClaimant);
        continue;
      }
      auto done = store.finishRefund(order.id, refundClaimant, now());
      if (done) {
        metrics.count("kiosk_cloud_refunds_total");
      } else {
        spdlog::warn("refund of {} sent, not recorded: {}", order.id, done.error().message);
      }
    }
  } else {
    spdlog::warn("sweeper: {}", refunds.error().message);
  }
  (void)store.purgeNonces(now() - 2 * cfg.maxSkewSeconds - 60);
}

void Server::Impl::sweepLoop() {
  while (!stopping) {
    sweepOnce();
    std::unique_lock lock(sweepMutex);
    sweepCv.wait_for(lock, std::chrono::milliseconds(cfg.sweepIntervalMs),
                     [this] { return stopping.load(); });
  }
}

}  // namespace kiosk::cloud
