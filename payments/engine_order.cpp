// The engine opens an order, waits for its payment, and settles it (paid, declined, cancelled,
// expired).
#include "payments/engine_internal.hpp"
#include "protocol/signing.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace kiosk::payments {

using namespace engine_detail;

void Engine::createOrder(const std::string& cardNumber, std::int64_t amount) {
  m_orderWorker.post([this, cardNumber, amount] { doCreateOrder(cardNumber, amount); });
}

void Engine::doCreateOrder(const std::string& cardNumber, std::int64_t amount) {
  std::optional<CardFacts> facts;
  bool journalBroken = false;
  {
    std::lock_guard lock(m_mutex);
    facts = m_facts;
    journalBroken = !m_journalOk;
    if (m_config && (amount < m_config->minAmount || amount > m_config->maxAmount)) {
      facts.reset();
    }
  }
  if (journalBroken) {
    post(notice::OrderRefused{false, "journal unavailable"});
    return;
  }
  if (!facts || facts->cardNumber() != cardNumber || amount <= 0) {
    post(notice::OrderRefused{false, "no such card in the reader, or amount outside the limits"});
    return;
  }
  auto challenge = m_card.challenge();
  if (!challenge) {
    post(notice::OrderRefused{false, std::string(card::describe(challenge.error()))});
    return;
  }
  const OrderRequest request{protocol::randomHex(16), cardNumber, amount, kiosk::toHex(*challenge)};
  auto begun = m_journal.beginTopUp(request, facts->meterNumber(), now());
  if (!begun) {
    journalOk(begun.error(), "recording an order request");
    post(notice::OrderRefused{false, "journal unavailable"});
    return;
  }
  TxRecord tx = *begun;
  activate(tx.id);

  Decoded<CreatedOrder> created = fail(PayFailure{PayError::Offline, "not tried", 0, {}});
  auto delay = m_options.retryInitial;
  for (int attempt = 0; attempt < m_options.createAttempts; ++attempt) {
    // The same key and the same bytes: a retry finds the order a lost answer created.
    created = m_cloud.createOrder(request);
    if (created || !isTransient(created.error().error)) break;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, m_options.retryMax);
  }
  if (!created) {
    const PayFailure failure = created.error();
    noteCloud(!isOffline(failure.error));
    if (isTransient(failure.error)) {
      // The cloud may have made the order anyway: the sync loop replays the request and
      // cancels what it finds.
      event("cloud.error", json{{"call", "create_order"}, {"tx", tx.id},
                                {"failure", json::parse(failureJson(failure))}}.dump());
    } else if (auto done = m_journal.finish(tx.id, Outcome::Rejected, failureJson(failure), now());
               !done) {
      journalOk(done.error(), "closing a refused order");
    }
    deactivate(tx.id);
    post(notice::OrderRefused{isOffline(failure.error), describe(failure)});
    return;
  }
  noteCloud(true);
  const Order order = created->order;
  TxUpdate update;
  update.orderId = order.id;
  update.credit = order.credit;
  update.fees = order.fees;
  update.qrUrl = order.qrUrl;
  update.expiresAt = order.expiresAt;
  auto recorded = m_journal.record(tx.id, Step::OrderCreated, update,
                                   json{{"created", created->created}}.dump(), now());
  if (!recorded) {
    journalOk(recorded.error(), "recording a created order");
    deactivate(tx.id);
    post(notice::OrderRefused{false, "journal unavailable"});
    return;
  }
  tx = *recorded;
  if (order.state != OrderState::Created) {
    // Only a replay finds an order past CREATED; settle it like a payment answer.
    settle(tx, order, true);
    deactivate(tx.id);
    return;
  }
  recorded = m_journal.record(tx.id, Step::QrShown, {}, "{}", now());
  if (!recorded) {
    journalOk(recorded.error(), "recording the QR code shown");
    deactivate(tx.id);
    post(notice::OrderRefused{false, "journal unavailable"});
    return;
  }
  tx = *recorded;
  // Registered before the pay screen appears, so that a Cancel pressed at once finds it.
  auto waiting = std::make_shared<Waiting>();
  waiting->orderId = order.id;
  {
    std::lock_guard lock(m_mutex);
    m_waiting = waiting;
  }
  post(notice::OrderOpened{order.id, order.qrUrl, order.amount, order.credit, order.fees,
                           static_cast<int>(std::max<std::int64_t>(0, order.expiresAt - now())),
                           receiptUrl(order.id)});
  waitForPayment(tx, order, waiting);
}

void Engine::waitForPayment(TxRecord tx, Order order, std::shared_ptr<Waiting> waiting) {
  auto delay = m_options.retryInitial;
  bool cancelSent = false;
  bool ended = false;
  bool reachable = true;  // as the pay screen was last told
  const auto heard = [&](bool answered) {
    if (answered == reachable) return;
    reachable = answered;
    post(notice::OrderContact{order.id, answered});
  };
  while (!ended) {
    {
      std::lock_guard lock(m_mutex);
      if (m_stopping) break;  // the journal keeps the transaction for the next start
    }
    if (waiting->cancel && !cancelSent) {
      {
        std::lock_guard lock(m_mutex);
        waiting->abort = m_stopping;
      }
      auto recorded = m_journal.record(tx.id, Step::CancelRequested, {}, "{}", now());
      if (!recorded) {
        // Not sent unrecorded: the order runs to its expiry instead, and a payment that
        // still comes is written as usual.
        journalOk(recorded.error(), "recording a cancel");
        cancelSent = true;
        continue;
      }
      tx = *recorded;
      auto cancelled = m_cloud.cancelOrder(order.id);
      if (cancelled) {
        cancelSent = true;
        noteCloud(true);
        heard(true);
        ended = settle(tx, *cancelled, true);
        continue;
      }
      noteCloud(!isOffline(cancelled.error().error));
      heard(!isTransient(cancelled.error().error));
      // INVALID_STATE: the payment won the race; the state below says what happened.
      if (cancelled.error().error == PayError::InvalidState) {
        cancelSent = true;
      } else if (isTransient(cancelled.error().error) && now() - order.expiresAt <= m_options.paymentGrace.count()) {
        std::this_thread::sleep_for(delay);
        delay = std::min(delay * 2, m_options.retryMax);
        continue;  // the cancel again, before anything else
      } else {
        cancelSent = true;  // the sync loop cancels it later; meanwhile watch the state
      }
    }
    const auto expiredFor = now() - order.expiresAt;
    auto state = m_cloud.orderState(order.id, m_options.longPoll, OrderState::Created,
                                    &waiting->abort);
    if (state) {
      noteCloud(true);
      heard(true);
      delay = m_options.retryInitial;
      if (state->state == OrderState::Created) {
        if (expiredFor > m_options.paymentGrace.count()) {
          // The cloud should have expired it long ago, and has not said how it ended: stop
          // waiting (the sync loop keeps asking, and settles it) without claiming an outcome.
          post(notice::OrderUnconfirmed{order.id});
          ended = true;
        }
        continue;
      }
      ended = settle(tx, *state, true);
      continue;
    }
    if (state.error().error == PayError::Cancelled) {
      // Woken for a cancel (handled above) or for one that was already sent: either way the
      // flag is spent, or the next long poll would return at once, again and again.
      std::lock_guard lock(m_mutex);
      waiting->abort = m_stopping;
      continue;
    }
    noteCloud(!isOffline(state.error().error));
    heard(!isTransient(state.error().error));
    if (!isTransient(state.error().error) || expiredFor > m_options.paymentGrace.count()) {
      // No answer about the payment in time: the order stays open in the journal and the
      // sync loop finds out whether it was paid (then the credit is written to the card,
      // still in the reader or at its next insertion). Nobody knows yet: unconfirmed.
      event("cloud.error", json{{"call", "order_state"}, {"order_id", order.id},
                                {"failure", json::parse(failureJson(state.error()))}}.dump());
      post(notice::OrderUnconfirmed{order.id});
      ended = true;
      continue;
    }
    // The network stumbles: ask again soon, sooner if a cancel comes.
    for (auto slept = std::chrono::milliseconds(0); slept < delay && !waiting->cancel;
         slept += std::chrono::milliseconds(50)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    delay = std::min(delay * 2, m_options.retryMax);
  }
  {
    std::lock_guard lock(m_mutex);
    if (m_waiting == waiting) m_waiting.reset();
  }
  deactivate(tx.id);
}

bool Engine::settle(TxRecord& tx, const Order& order, bool notify) {
  auto finish = [&](Outcome outcome) {
    auto done = m_journal.finish(tx.id, outcome,
                                 json{{"cloud_state", toString(order.state)},
                                      {"reason", order.reason}}.dump(),
                                 now());
    if (done) {
      tx = *done;
    } else {
      journalOk(done.error(), "closing a transaction");
    }
  };
  switch (order.state) {
    case OrderState::Created:
      return false;
    case OrderState::Paid:
    case OrderState::TokenIssued: {
      const bool unrecorded = tx.step < Step::Paid || tx.step == Step::CancelRequested;
      std::shared_ptr<PaidCommit> commit;
      if (notify) {
        std::lock_guard lock(m_mutex);
        m_paidAt[order.id] = Steady::now();
        if (unrecorded) {
          commit = std::make_shared<PaidCommit>();
          commit->credit = order.credit;
          commit->fees = order.fees;
          m_paidCommits[order.id] = commit;
        }
      }
      // The resident is waiting: the write starts now, while the step goes to disk.
      if (notify) post(notice::OrderPaid{order.id});
      if (unrecorded) {
        TxUpdate update;
        update.credit = order.credit;  // fees settled at payment may have moved into credit
        update.fees = order.fees;
        auto recorded = m_journal.record(tx.id, Step::Paid, update,
                                         json{{"cloud_state", toString(order.state)}}.dump(), now());
        if (commit) {
          {
            std::lock_guard lock(m_mutex);
            commit->done = true;
            commit->ok = static_cast<bool>(recorded);
            m_paidCommits.erase(order.id);
          }
          m_changed.notify_all();
        }
        if (!recorded) {
          journalOk(recorded.error(), "recording a payment");
          return true;  // not written: the sync loop records it once the journal works
        }
        tx = *recorded;
      }
      return true;
    }
    case OrderState::Delivered:
      // Everything went to fees: nothing for the card. (Or another kiosk delivered it.)
      finish(order.credit == 0 ? Outcome::FeesOnly : Outcome::DeliveredElsewhere);
      if (notify) post(notice::OrderPaid{order.id});
      return true;
    case OrderState::Canceled:
      finish(order.reason == "DECLINED" ? Outcome::Declined : Outcome::Cancelled);
      if (notify) {
        if (order.reason == "DECLINED") {
          post(notice::OrderDeclined{order.id});
        } else {
          post(notice::OrderCancelled{order.id});
        }
      }
      return true;
    case OrderState::Expired:
      finish(Outcome::Expired);
      if (notify) post(notice::OrderExpired{order.id});
      return true;
    case OrderState::RefundPending:
    case OrderState::Refunded:
      finish(Outcome::Refunded);
      if (notify) post(notice::OrderRefunded{order.id});
      return true;
  }
  return false;
}

void Engine::cancelOrder(const std::string& orderId) {
  {
    std::lock_guard lock(m_mutex);
    if (m_waiting && m_waiting->orderId == orderId) {
      m_waiting->cancel = true;
      m_waiting->abort = true;
      return;
    }
  }
  m_cloudWorker.post([this, orderId] { doCancelDetached(orderId); });
}

void Engine::doCancelDetached(const std::string& orderId) {
  auto found = m_journal.byOrder(orderId);
  if (!found || !found->has_value() || !(*found)->open()) return;
  TxRecord tx = **found;
  if (tx.step >= Step::Paid && tx.step != Step::CancelRequested) return;  // paid: the card's now
  if (auto recorded = m_journal.record(tx.id, Step::CancelRequested, {}, "{}", now())) {
    tx = *recorded;
  } else {
    journalOk(recorded.error(), "recording a cancel");
    return;
  }
  auto delay = m_options.retryInitial;
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto cancelled = m_cloud.cancelOrder(orderId);
    if (cancelled) {
      noteCloud(true);
      settle(tx, *cancelled, true);
      return;
    }
    noteCloud(!isOffline(cancelled.error().error));
    if (!isTransient(cancelled.error().error)) break;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, m_options.retryMax);
  }
  // Paid meanwhile (INVALID_STATE), or no answer: the state says which; the sync loop finishes
  // what is left.
  if (auto state = m_cloud.orderState(orderId)) settle(tx, *state, true);
}
}  // namespace kiosk::payments
