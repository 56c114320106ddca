// The engine's sync loop: the outbox, the kiosk config, and the unfinished transactions.
#include "payments/engine_internal.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace kiosk::payments {

using namespace engine_detail;

void Engine::syncLoop() {
  auto backoff = std::chrono::milliseconds(1000);
  bool first = true;
  for (;;) {
    bool journalBroken = false;
    {
      std::lock_guard lock(m_mutex);
      if (m_stopping) return;
      m_syncWake = false;
      m_syncRunning = true;
      journalBroken = !m_journalOk;
    }
    if (journalBroken) {
      // Probe: once an event can be written again the kiosk is back in service.
      if (m_journal.event("journal.recovered", "{}", now())) {
        {
          std::lock_guard lock(m_mutex);
          m_journalOk = true;
        }
        post(notice::ServiceRestored{});
      }
    }
    refreshConfig(first);
    resolveUnfinished(first);
    const bool uploaded = uploadOutbox() && uploadReadings();
    first = false;
    std::chrono::milliseconds wait = m_options.syncInterval;
    if (!uploaded) {
      wait = backoff;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(60000));
    } else {
      backoff = std::chrono::milliseconds(1000);
    }
    std::unique_lock lock(m_mutex);
    ++m_syncCycles;
    if (uploaded) {
      m_lastCleanCycle = m_syncCycles;
      m_lastCleanAt = now();
    }
    m_syncRunning = false;
    m_changed.notify_all();
    m_changed.wait_for(lock, wait, [this] { return m_stopping || m_syncWake; });
  }
}

bool Engine::uploadOutbox() {
  for (int batches = 0; batches < 50; ++batches) {
    auto events = m_journal.pendingEvents(m_options.batchSize);
    if (!events) return false;
    if (events->empty()) return true;
    auto ack = m_cloud.uploadJournal(*events);
    if (!ack) {
      noteCloud(!isOffline(ack.error().error));
      return false;
    }
    noteCloud(true);
    if (auto acked = m_journal.acknowledge(ack->lastSeq); !acked) {
      journalOk(acked.error(), "acknowledging uploaded events");
      return false;
    }
  }
  return true;
}

bool Engine::uploadReadings() {
  std::lock_guard uploading(m_readingsMutex);
  for (int batches = 0; batches < 50; ++batches) {
    auto readings = m_journal.pendingReadings(m_options.batchSize);
    if (!readings) return false;
    if (readings->empty()) return true;
    for (const auto& reading : *readings) {
      auto posted = m_cloud.postReading(reading.cardNumber, reading.returnHex);
      if (!posted) {
        const PayError error = posted.error().error;
        if (isTransient(error) || isOffline(error) || error == PayError::BadResponse) {
          noteCloud(!isOffline(error));
          return false;
        }
        // Refused for good (a RETURN that does not verify, a card the cloud does not know):
        // sending it again cannot change the answer.
        event("reading.refused", json{{"card_number", reading.cardNumber},
                                      {"read_at", reading.readAt},
                                      {"failure", json::parse(failureJson(posted.error()))}}.dump());
      }
      noteCloud(true);
      if (auto done = m_journal.readingDone(reading.id); !done) {
        journalOk(done.error(), "recording an uploaded reading");
        return false;
      }
    }
  }
  return true;
}

void Engine::refreshConfig(bool force) {
  std::string etag;
  {
    std::lock_guard lock(m_mutex);
    if (!force && m_config &&
        Steady::now() - m_configAt < std::chrono::duration_cast<Steady::duration>(m_options.configInterval)) {
      return;
    }
    etag = m_config && m_configSaved ? m_configEtag : std::string{};
  }
  auto fetched = m_cloud.fetchConfig(etag);
  if (!fetched) {
    const PayFailure& failure = fetched.error();
    noteCloud(!isOffline(failure.error));
    if (failure.error == PayError::BadResponse) {
      // The cloud sent a config this kiosk cannot use: it keeps the one it has and asks again
      // at the next config interval, not at every sync. The operator hears of it once per
      // reason, in the outbox.
      bool news = false;
      {
        std::lock_guard lock(m_mutex);
        m_configAt = Steady::now();
        news = m_configRefused != failure.detail;
        m_configRefused = failure.detail;
      }
      if (news) {
        spdlog::error("engine: the cloud's config was refused, the kiosk keeps its own: {}", failure.detail);
        event("config.refused", json{{"failure", json::parse(failureJson(failure))}}.dump());
      }
    }
    return;
  }
  noteCloud(true);
  if (!fetched->has_value()) {  // unchanged
    std::lock_guard lock(m_mutex);
    m_configAt = Steady::now();
    return;
  }
  auto saved = m_journal.saveConfig((*fetched)->body, (*fetched)->etag);
  if (!saved) {
    // The kiosk keeps working on the config in memory; only the next cold start lacks it.
    spdlog::warn("engine: config not kept for offline use: {}", describe(saved.error()));
  }
  std::lock_guard lock(m_mutex);
  m_configAt = Steady::now();
  m_configRefused.clear();
  // The new config applies at once (a card blocked a minute ago is refused now), but an
  // unsaved one keeps no ETag: the next refresh fetches it whole and tries to save it again,
  // instead of hearing "unchanged" while the disk still holds the old one.
  m_config = std::move((*fetched)->config);
  m_configEtag = (*fetched)->etag;
  m_configSaved = saved.has_value();
  spdlog::info("engine: config {} loaded ({} blocked cards)", m_configEtag,
               m_config->blockedCards.size());
}

void Engine::resolveUnfinished(bool everything) {
  auto open = m_journal.unfinished();
  if (!open) return;
  bool recheckPaid = everything;
  bool wanted = false;
  {
    std::lock_guard lock(m_mutex);
    wanted = std::exchange(m_recheckWanted, false);
  }
  if (wanted || Steady::now() >= m_recheckAt) {
    recheckPaid = true;
    m_recheckAt = Steady::now() + std::chrono::duration_cast<Steady::duration>(m_options.recheckInterval);
  }
  for (const auto& tx : *open) {
    if (isActive(tx.id)) continue;
    {
      std::lock_guard lock(m_mutex);
      if (m_stopping) return;
    }
    resolve(tx, recheckPaid);
  }
}

void Engine::tellOutcome(const TxRecord& tx) {
  switch (tx.outcome) {
    case Outcome::Expired: post(notice::OrderExpired{tx.orderId}); return;
    case Outcome::Declined: post(notice::OrderDeclined{tx.orderId}); return;
    case Outcome::Cancelled: post(notice::OrderCancelled{tx.orderId}); return;
    case Outcome::Refunded: post(notice::OrderRefunded{tx.orderId}); return;
    default: return;
  }
}

void Engine::reportSettled(const TxRecord& tx) {
  tellOutcome(tx);
  if (!tx.open() || tx.step != Step::Paid) return;
  {
    std::lock_guard lock(m_mutex);
    if (!m_facts || m_facts->cardNumber() != tx.cardNumber) return;
  }
  post(notice::PendingCredit{tx.orderId});
}

void Engine::resolve(TxRecord tx, bool recheckPaid) {
  switch (tx.step) {
    case Step::OrderRequested: {
      // The answer was lost (or never came): the same request finds the order if it exists.
      auto created = m_cloud.createOrder(tx.request());
      if (!created) {
        noteCloud(!isOffline(created.error().error));
        if (!isTransient(created.error().error) && !isOffline(created.error().error)) {
          if (auto done = m_journal.finish(tx.id, Outcome::Rejected, failureJson(created.error()), now())) {
            tx = *done;
          }
        }
        return;
      }
      noteCloud(true);
      TxUpdate update;
      update.orderId = created->order.id;
      update.credit = created->order.credit;
      update.fees = created->order.fees;
      update.expiresAt = created->order.expiresAt;
      auto recorded = m_journal.record(tx.id, Step::OrderCreated, update,
                                       R"({"replayed":true})", now());
      if (!recorded) {
        journalOk(recorded.error(), "recording a replayed order");
        return;
      }
      tx = *recorded;
      [[fallthrough]];
    }
    case Step::OrderCreated:
    case Step::QrShown:
    case Step::CancelRequested: {
      auto state = m_cloud.orderState(tx.orderId);
      if (!state) {
        noteCloud(!isOffline(state.error().error));
        if (state.error().error == PayError::NotFound || state.error().error == PayError::ForeignOrder) {
          (void)m_journal.finish(tx.id, Outcome::Rejected, failureJson(state.error()), now());
        }
        return;
      }
      noteCloud(true);
      if (state->state != OrderState::Created) {
        settle(tx, *state, false);
        reportSettled(tx);
        return;
      }
      // Nobody is in front of the QR code any more: cancel. A payment that still arrives
      // becomes credit pending on the account.
      if (tx.step != Step::CancelRequested) {
        auto recorded = m_journal.record(tx.id, Step::CancelRequested, {}, R"({"resumed":true})", now());
        if (!recorded) {
          journalOk(recorded.error(), "recording a cancel");
          return;
        }
        tx = *recorded;
      }
      auto cancelled = m_cloud.cancelOrder(tx.orderId);
      if (cancelled) {
        settle(tx, *cancelled, false);
        reportSettled(tx);
      } else if (cancelled.error().error == PayError::InvalidState) {
        // Paid as the cancel went out: the state says so.
        if (auto answer = m_cloud.orderState(tx.orderId)) {
          settle(tx, *answer, false);
          reportSettled(tx);
        }
      }
      return;
    }
    case Step::Paid:
    case Step::ScriptFetched:
    case Step::ApduSent:
    case Step::CardPulled: {
      // The credit waits for its card. Only the cloud can say it went elsewhere or back.
      if (!recheckPaid) return;
      auto state = m_cloud.orderState(tx.orderId);
      if (!state) {
        noteCloud(!isOffline(state.error().error));
        return;
      }
      noteCloud(true);
      if (state->state == OrderState::Delivered || state->state == OrderState::Refunded ||
          state->state == OrderState::RefundPending) {
        settle(tx, *state, false);
      }
      return;
    }
    case Step::ReadBack: {
      // The card showed the token: only the confirmation is missing.
      const auto token = tokenOf(tx.tokenHex);
      (void)confirm(tx, tx.cardNumber, token ? token->sequence : static_cast<std::uint32_t>(tx.tokenSeq));
      return;
    }
    case Step::Confirmed:
    case Step::Closed:
      return;
  }
}
}  // namespace kiosk::payments
