#include "payments/engine.hpp"

#include "protocol/signing.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace kiosk::payments {

namespace {

using nlohmann::json;
using Steady = std::chrono::steady_clock;

CardProblem problemOf(card::CardError error) {
  switch (error) {
    case card::CardError::ForeignCard: return CardProblem::Foreign;
    case card::CardError::NotAuthentic: return CardProblem::NotAuthentic;
    case card::CardError::Full: return CardProblem::Full;
    default: return CardProblem::Unreadable;
  }
}

bool cardGone(card::CardError error) {
  return error == card::CardError::Removed || error == card::CardError::NoCard ||
         error == card::CardError::NoReader || error == card::CardError::NoService;
}

const char* problemName(CardProblem problem) {
  switch (problem) {
    case CardProblem::Unreadable: return "unreadable";
    case CardProblem::Foreign: return "foreign";
    case CardProblem::NotAuthentic: return "not_authentic";
    case CardProblem::Blocked: return "blocked";
    case CardProblem::Full: return "full";
  }
  return "unreadable";
}

std::optional<card::CreditToken> tokenOf(const std::string& hex) {
  if (hex.empty()) return std::nullopt;
  auto bytes = kiosk::fromHex(hex);
  if (!bytes) return std::nullopt;
  auto token = card::decodeToken(*bytes);
  if (!token) return std::nullopt;
  return *token;
}

// The journal's columns for a token the cloud issued: it says what went (or goes) onto the card.
TxUpdate tokenUpdate(const IssuedToken& issued) {
  TxUpdate update;
  update.tokenHex = issued.hex;
  update.tokenSeq = issued.token.sequence;
  update.credit = issued.token.amount;
  return update;
}

std::string failureJson(const PayFailure& failure) {
  json out{{"error", describe(failure.error)}};
  if (!failure.detail.empty()) out["detail"] = failure.detail;
  if (failure.httpStatus != 0) out["http_status"] = failure.httpStatus;
  if (!failure.code.empty()) out["code"] = failure.code;
  return out.dump();
}

}  // namespace

// The order whose payment the order worker is waiting for; the UI may ask to cancel it.
struct Engine::Waiting {
  std::string orderId;
  std::atomic<bool> abort{false};   // wakes the long poll
  std::atomic<bool> cancel{false};  // the resident (or the flow) asked to cancel
};

// A Paid step on its way to disk while the write already starts: reading the card's challenge
// and fetching the script change nothing on the card, so they need not wait for it; the
// token's step, and with it the UPDATE, does. Guarded by m_mutex, announced on m_changed.
struct Engine::PaidCommit {
  std::int64_t credit = 0;  // the paid order's split, as the step records it
  std::int64_t fees = 0;
  bool done = false;
  bool ok = false;
};

Engine::Engine(Journal& journal, CloudClient& cloud, CardPort& card, const platform::Clock& clock,
               EngineOptions options, Sink sink)
    : m_journal(journal),
      m_cloud(cloud),
      m_card(card),
      m_clock(clock),
      m_options(std::move(options)),
      m_sink(std::move(sink)) {}

Engine::~Engine() { stop(); }

void Engine::post(const Notice& notice) {
  spdlog::debug("engine: {}", describe(notice));
  if (m_sink) m_sink(notice);
}

bool Engine::journalOk(const JournalError& error, const char* what) {
  if (error == JournalError::Closed || error == JournalError::NotFound) {
    // The transaction ended meanwhile (another worker settled it): nothing is broken.
    spdlog::info("engine: {}: {}", what, describe(error));
    return false;
  }
  spdlog::error("engine: journal failed while {}: {}", what, describe(error));
  bool wasOk = false;
  {
    std::lock_guard lock(m_mutex);
    wasOk = m_journalOk;
    m_journalOk = false;
  }
  // Without the journal nothing may happen that it could not record: out of service until it
  // works again (the sync loop keeps trying).
  if (wasOk) post(notice::ServiceFault{"oos.disk"});
  return false;
}

void Engine::event(const std::string& type, const std::string& data) {
  if (auto added = m_journal.event(type, data, now()); !added) {
    journalOk(added.error(), type.c_str());
  }
}

void Engine::noteCloud(bool reached) {
  std::lock_guard lock(m_mutex);
  if (m_online != reached) spdlog::info("engine: cloud {}", reached ? "reachable" : "unreachable");
  m_online = reached;
}

// ---------------------------------------------------------------------------------------
// Lifecycle

void Engine::start() {
  {
    std::lock_guard lock(m_mutex);
    if (m_started) return;
    m_started = true;
    m_stopping = false;
  }
  if (auto cached = m_journal.loadConfig(); cached && cached->has_value()) {
    auto config = decodeKioskConfig((*cached)->first);
    if (config) {
      std::lock_guard lock(m_mutex);
      m_config = std::move(*config);
      m_configEtag = (*cached)->second;
    } else {
      spdlog::warn("engine: the kept config does not decode: {}", config.error().detail);
    }
  }
  if (auto open = m_journal.unfinished(); open) {
    spdlog::info("engine: {} unfinished transaction(s) to resume", open->size());
  }
  m_syncWorker.post([this] { syncLoop(); });
}

void Engine::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    if (m_waiting) m_waiting->abort = true;
  }
  m_changed.notify_all();
  m_cardWorker.stop();
  m_orderWorker.stop();
  m_cloudWorker.stop();
  m_syncWorker.stop();
}

bool Engine::waitIdle(std::chrono::milliseconds timeout) {
  const auto deadline = Steady::now() + timeout;
  for (;;) {
    const bool idle = m_cardWorker.idle() && m_orderWorker.idle() && m_cloudWorker.idle();
    if (idle) return true;
    if (Steady::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Engine::syncNow() {
  {
    std::lock_guard lock(m_mutex);
    m_syncWake = true;
  }
  m_changed.notify_all();
}

void Engine::recheckUnfinished() {
  std::lock_guard lock(m_mutex);
  m_recheckAt = {};
  m_syncWake = true;
  m_changed.notify_all();
}

bool Engine::syncAndWait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(m_mutex);
  // A cycle running now may have started before the caller's request: then the next one.
  const std::uint64_t target = m_syncCycles + (m_syncRunning ? 2 : 1);
  m_syncWake = true;
  m_changed.notify_all();
  // A failed cycle backs off (1 s, 2 s, ...) and tries again: the wait spans those retries.
  m_changed.wait_for(lock, timeout, [&] { return m_lastCleanCycle >= target || m_stopping; });
  return m_lastCleanCycle >= target;
}

EngineStatus Engine::status() {
  EngineStatus out;
  {
    std::lock_guard lock(m_mutex);
    out.online = m_online;
    out.journalOk = m_journalOk;
    out.configLoaded = m_config.has_value();
    if (m_config) out.configEtag = m_configEtag;
    out.lastSync = m_lastCleanAt;
  }
  auto acked = m_journal.acknowledged();
  auto last = m_journal.lastSequence();
  if (acked && last) out.outboxPending = *last - *acked;
  if (auto open = m_journal.unfinished()) out.openTransactions = open->size();
  return out;
}

std::optional<WriteTiming> Engine::lastWriteTiming() const {
  std::lock_guard lock(m_mutex);
  return m_lastTiming;
}

std::string Engine::receiptUrl(const std::string& orderId) const {
  std::lock_guard lock(m_mutex);
  return m_config && !m_config->receiptBaseUrl.empty() ? m_config->receiptBaseUrl + orderId : std::string{};
}

std::optional<KioskConfig> Engine::config() const {
  std::lock_guard lock(m_mutex);
  return m_config;
}

// Counted: the payment thread and the write both hold a paid transaction for a while, and
// the first to let go must not expose the other's to the sync loop.
void Engine::activate(std::int64_t txId) {
  std::lock_guard lock(m_mutex);
  ++m_active[txId];
}

void Engine::deactivate(std::int64_t txId) {
  std::lock_guard lock(m_mutex);
  auto found = m_active.find(txId);
  if (found != m_active.end() && --found->second <= 0) m_active.erase(found);
}

bool Engine::isActive(std::int64_t txId) const {
  std::lock_guard lock(m_mutex);
  return m_active.count(txId) != 0;
}

bool Engine::cardChanged(std::uint64_t generation) const {
  std::lock_guard lock(m_mutex);
  return m_generation != generation || m_stopping;
}

// Sleeps, but wakes early when the card leaves or the engine stops; false then.
bool Engine::sleepFor(std::chrono::milliseconds delay, std::uint64_t generation) {
  std::unique_lock lock(m_mutex);
  return !m_changed.wait_for(lock, delay,
                             [&] { return m_generation != generation || m_stopping; });
}

// ---------------------------------------------------------------------------------------
// The reader

void Engine::cardInserted() {
  {
    std::lock_guard lock(m_mutex);
    ++m_generation;
    m_facts.reset();
    m_pendingCredit.clear();
  }
  m_changed.notify_all();
}

void Engine::cardRemoved() {
  {
    std::lock_guard lock(m_mutex);
    ++m_generation;
    m_facts.reset();
    m_pendingCredit.clear();
  }
  m_changed.notify_all();
}

void Engine::staffAction(const std::string& action, const std::string& detailJson) {
  auto detail = json::parse(detailJson, nullptr, false);
  if (detail.is_discarded() || !detail.is_object()) detail = json::object();
  detail["action"] = action;
  event("staff.action", detail.dump());
}

// ---------------------------------------------------------------------------------------
// Reading a card

void Engine::readCard() { m_cardWorker.post([this] { doReadCard(); }); }

void Engine::doReadCard() {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(m_mutex);
    generation = m_generation;
  }
  const auto started = Steady::now();
  auto facts = m_card.read();
  m_cardNanos += (Steady::now() - started).count();
  if (!facts) {
    const CardProblem problem = problemOf(facts.error());
    event("card.refused", json{{"problem", problemName(problem)},
                               {"error", card::describe(facts.error())}}.dump());
    post(notice::CardRefused{problem, std::string(card::describe(facts.error()))});
    return;
  }
  const std::string number = facts->cardNumber();
  json data{{"card_number", number},
            {"meter_number", facts->meterNumber()},
            {"kind", card::toString(facts->id.kind)},
            {"utility", card::toString(facts->id.utility)},
            {"free_records", facts->freeRecords}};
  json credits = json::array();
  for (const auto& token : facts->credits) credits.push_back(token.sequence);
  data["credits"] = credits;
  if (facts->meterReturn) {
    // The meter's readings travel to the billing store with the event.
    data["return"] = kiosk::toHex(card::encodeReturn(*facts->meterReturn));
    data["remaining"] = facts->meterReturn->remainingCredit;
    data["consumption"] = facts->meterReturn->consumption;
    data["last_sequence"] = facts->meterReturn->lastSequence;
    data["flags"] = facts->meterReturn->flags;
  }
  event("card.read", data.dump());

  bool blocked = false;
  bool journalBroken = false;
  {
    std::lock_guard lock(m_mutex);
    if (m_generation != generation) return;  // pulled meanwhile: the flow knows already
    m_facts = *facts;
    blocked = m_config && m_config->blocked(number);
    journalBroken = !m_journalOk;
  }
  if (journalBroken) {
    post(notice::CardRefused{CardProblem::Unreadable, "journal unavailable"});
    return;
  }
  if (blocked) {
    // The last downloaded list decides even when the cloud cannot be asked.
    event("card.blocked", json{{"card_number", number}, {"source", "config"}}.dump());
    post(notice::CardRefused{CardProblem::Blocked, "card is on the blocked list"});
    return;
  }
  if (facts->id.kind == card::CardKind::Staff) {
    // Whether this staff member may enter maintenance is the kiosk config's to say.
    event("card.staff", json{{"card_number", number}}.dump());
    post(notice::CardRead{number, true});
    return;
  }
  if (facts->id.kind != card::CardKind::Resident) {
    post(notice::CardRefused{CardProblem::Foreign, "not a resident card"});
    return;
  }
  post(notice::CardRead{number});
}

// ---------------------------------------------------------------------------------------
// The account

AccountInfo Engine::accountFrom(const CardFacts& facts, const CardSummary* summary) const {
  AccountInfo info;
  info.cardNumber = facts.cardNumber();
  info.meterNumber = facts.meterNumber();
  info.utility = facts.id.utility;
  if (facts.meterReturn) {
    info.balance = facts.meterReturn->remainingCredit;
    info.balanceTime = facts.meterReturn->timestamp;
    info.alarmLevel = facts.meterReturn->alarmLevel;
    info.cutOff = facts.meterReturn->cutOff();
  }
  std::lock_guard lock(m_mutex);
  if (m_config) {
    info.minAmount = m_config->minAmount;
    info.maxAmount = m_config->maxAmount;
    for (const auto preset : m_options.presets) {
      if (preset >= m_config->minAmount && preset <= m_config->maxAmount) {
        info.presets.push_back(preset);
      }
    }
  }
  if (summary != nullptr) {
    info.holder = summary->resident;
    info.building = summary->building;
    info.room = summary->room;
    info.recent = summary->recent;
    info.fees = summary->fees;
    info.feesTotal = summary->feesTotal;
    info.feePolicy = summary->feePolicy;
    info.pendingCredits = static_cast<int>(summary->pending.size());
    if (m_config) {
      if (const Tariff* tariff = m_config->tariff(summary->tariffId)) {
        info.pricePerUnit = tariff->pricePerUnit;
      }
    }
  }
  return info;
}

void Engine::lookupAccount(const std::string& cardNumber) {
  m_cloudWorker.post([this, cardNumber] { doLookup(cardNumber); });
}

void Engine::doLookup(const std::string& cardNumber) {
  std::optional<CardFacts> facts;
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(m_mutex);
    facts = m_facts;
    generation = m_generation;
  }
  if (!facts || facts->cardNumber() != cardNumber) return;  // another card by now

  bool haveConfig = false;
  {
    std::lock_guard lock(m_mutex);
    haveConfig = m_config.has_value();
  }
  // Limits and tariffs come from the config: a kiosk that never got one asks now.
  if (!haveConfig) refreshConfig(true);
  auto summary = m_cloud.lookupCard(cardNumber);
  if (!summary) {
    const PayError error = summary.error().error;
    if (error == PayError::CardBlocked) {
      noteCloud(true);
      event("card.blocked", json{{"card_number", cardNumber}, {"source", "cloud"}}.dump());
      post(notice::CardRefused{CardProblem::Blocked, summary.error().detail});
      return;
    }
    if (error == PayError::UnknownCard) {
      noteCloud(true);
      event("card.unknown", json{{"card_number", cardNumber}}.dump());
      post(notice::CardRefused{CardProblem::Foreign, "card is not known to the cloud"});
      return;
    }
    // Unreachable, failing, or an answer that cannot be trusted: the card's own data and the
    // last config still give the resident their balance; payments are refused.
    noteCloud(!isOffline(error) && error != PayError::BadResponse);
    event("cloud.error", json{{"call", "lookup"}, {"card_number", cardNumber},
                              {"failure", json::parse(failureJson(summary.error()))}}.dump());
    post(notice::AccountReady{accountFrom(*facts, nullptr), true});
    return;
  }
  noteCloud(true);

  // Paid credit for this card: the cloud's list (any kiosk's orders) and this kiosk's own
  // journal (a transaction whose card left mid-write).
  std::vector<std::string> pending;
  std::map<std::string, std::int64_t> credits;
  for (const auto& p : summary->pending) {
    pending.push_back(p.orderId);
    credits[p.orderId] = p.credit;
  }
  if (auto open = m_journal.unfinished()) {
    for (const auto& tx : *open) {
      if (tx.cardNumber != cardNumber || tx.orderId.empty() || tx.step < Step::Paid ||
          tx.step == Step::CancelRequested) {
        continue;
      }
      if (std::find(pending.begin(), pending.end(), tx.orderId) == pending.end()) {
        // The cloud no longer lists it (delivered elsewhere, refunded): the sync loop settles
        // it; a token journaled as possibly written is checked on this card though.
        if (tx.step >= Step::ScriptFetched) pending.push_back(tx.orderId);
      }
    }
  }
  {
    std::lock_guard lock(m_mutex);
    if (m_generation != generation) return;
    m_pendingCredit = credits;
  }
  if (!pending.empty()) {
    post(notice::PendingCredit{pending.front()});
  } else {
    post(notice::AccountReady{accountFrom(*facts, &*summary), false});
  }

  if (facts->meterReturn) {
    // Best effort: the same data is in the outbox's card.read event.
    auto reading = m_cloud.postReading(cardNumber, kiosk::toHex(card::encodeReturn(*facts->meterReturn)));
    if (!reading) spdlog::info("engine: meter reading not posted: {}", describe(reading.error()));
  }
}

// ---------------------------------------------------------------------------------------
// Orders

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
  const auto started = Steady::now();
  auto challenge = m_card.challenge();
  m_cardNanos += (Steady::now() - started).count();
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
                           static_cast<int>(std::max<std::int64_t>(0, order.expiresAt - now()))});
  waitForPayment(tx, order, waiting);
}

void Engine::waitForPayment(TxRecord tx, Order order, std::shared_ptr<Waiting> waiting) {
  auto delay = m_options.retryInitial;
  bool cancelSent = false;
  bool ended = false;
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
        ended = settle(tx, *cancelled, true);
        continue;
      }
      noteCloud(!isOffline(cancelled.error().error));
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
      delay = m_options.retryInitial;
      if (state->state == OrderState::Created) {
        if (expiredFor > m_options.paymentGrace.count()) {
          // The cloud should have expired it long ago; stop waiting, the sync loop settles it.
          post(notice::OrderExpired{order.id});
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
    if (!isTransient(state.error().error) || expiredFor > m_options.paymentGrace.count()) {
      // No answer about the payment in time: the order stays open in the journal and the
      // sync loop finds out whether it was paid (then the credit waits for the card).
      event("cloud.error", json{{"call", "order_state"}, {"order_id", order.id},
                                {"failure", json::parse(failureJson(state.error()))}}.dump());
      post(notice::OrderExpired{order.id});
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
        m_paidSeen[order.id] = PaidClock{Steady::now()};
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
      if (notify) post(notice::OrderDeclined{order.id});
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

// ---------------------------------------------------------------------------------------
// Writing credit to the card

void Engine::writeToken(const std::string& orderId, const std::string& cardNumber) {
  m_cardWorker.post([this, orderId, cardNumber] { doWrite(orderId, cardNumber); });
}

void Engine::doWrite(const std::string& orderId, const std::string& cardNumber) {
  std::optional<CardFacts> facts;
  std::uint64_t generation = 0;
  std::map<std::string, std::int64_t> cloudPending;
  {
    std::lock_guard lock(m_mutex);
    facts = m_facts;
    generation = m_generation;
    cloudPending = m_pendingCredit;
  }
  if (!facts || facts->cardNumber() != cardNumber) {
    post(notice::WriteFailed{"the card in the reader is not " + cardNumber});
    return;
  }
  // This order first, then any other credit waiting for the same card.
  std::vector<std::string> orders{orderId};
  for (const auto& [id, credit] : cloudPending) {
    if (std::find(orders.begin(), orders.end(), id) == orders.end()) orders.push_back(id);
  }
  if (auto open = m_journal.unfinished()) {
    for (const auto& tx : *open) {
      if (tx.cardNumber == cardNumber && !tx.orderId.empty() && tx.step >= Step::Paid &&
          tx.step != Step::CancelRequested &&
          std::find(orders.begin(), orders.end(), tx.orderId) == orders.end()) {
        orders.push_back(tx.orderId);
      }
    }
  }

  notice::WriteDone done;
  done.utility = facts->id.utility;
  done.cardNumber = cardNumber;
  done.meterNumber = facts->meterNumber();
  for (std::size_t i = 0; i < orders.size(); ++i) {
    const auto known = cloudPending.find(orders[i]);
    DeliverResult result = deliver(orders[i], *facts, generation,
                                   known == cloudPending.end() ? 0 : known->second);
    if (result.outcome == Delivered::Pulled) return;  // the flow asks for the card back
    if (result.outcome == Delivered::Failed) {
      if (i == 0) {
        post(notice::WriteFailed{result.detail});
        return;
      }
      break;  // what was written is done; the rest waits for the next insertion
    }
    done.deliveries.push_back(result.delivery);
  }
  done.at = now();
  post(done);
}

Engine::DeliverResult Engine::deliver(const std::string& orderId, const CardFacts& facts,
                                      std::uint64_t generation, std::int64_t knownCredit) {
  DeliverResult result;
  const std::string cardNumber = facts.cardNumber();
  // Looked up before the journal: a commit that ends in between shows there.
  std::shared_ptr<PaidCommit> paidCommit;
  {
    std::lock_guard lock(m_mutex);
    if (const auto it = m_paidCommits.find(orderId); it != m_paidCommits.end()) paidCommit = it->second;
  }
  auto found = m_journal.byOrder(orderId);
  if (!found) {
    journalOk(found.error(), "looking up an order");
    result.detail = "journal unavailable";
    return result;
  }
  TxRecord tx;
  if (found->has_value()) {
    tx = **found;
  } else {
    // Credit sold elsewhere (or whose transaction this kiosk lost): journal it before anything
    // else happens to it.
    auto adopted = m_journal.adoptPaid(orderId, cardNumber, facts.meterNumber(), knownCredit, now());
    if (!adopted) {
      journalOk(adopted.error(), "adopting paid credit");
      result.detail = "journal unavailable";
      return result;
    }
    tx = *adopted;
  }
  if (tx.cardNumber != cardNumber) {
    result.detail = "order " + orderId + " is for another card";
    return result;
  }
  if (tx.outcome == Outcome::Delivered || tx.outcome == Outcome::FeesOnly) {
    result.outcome = Delivered::Yes;
    result.delivery = {orderId, tx.outcome == Outcome::FeesOnly ? 0 : tx.credit, tx.fees,
                       static_cast<std::uint32_t>(tx.tokenSeq), receiptUrl(orderId)};
    return result;
  }
  const bool paidOnDisk = tx.step >= Step::Paid && tx.step != Step::CancelRequested;
  if (!tx.open() || (!paidOnDisk && !paidCommit)) {
    result.detail = "order " + orderId + " has no paid credit to write";
    return result;
  }
  if (!paidOnDisk) {
    tx.credit = paidCommit->credit;
    tx.fees = paidCommit->fees;
  }
  activate(tx.id);
  struct Deactivate {
    Engine& engine;
    std::int64_t id;
    ~Deactivate() { engine.deactivate(id); }
  } deactivateOnExit{*this, tx.id};

  // Where a write's time goes, for lastWriteTiming(): the card's exchanges and the cloud.
  const auto spent = [this, &orderId](Steady::duration took, bool cloud) {
    std::lock_guard lock(m_mutex);
    const auto paid = m_paidSeen.find(orderId);
    if (paid == m_paidSeen.end()) return;
    (cloud ? paid->second.cloud : paid->second.card) += took;
  };
  auto timed = [&](auto&& call) {
    const auto started = Steady::now();
    auto value = call();
    const auto took = Steady::now() - started;
    m_cardNanos += took.count();
    spent(took, false);
    return value;
  };

  std::optional<card::CreditToken> token = tokenOf(tx.tokenHex);
  // A token journaled earlier may already be on the card (a tear after the UPDATE), or
  // already loaded by the meter: then only the confirmation is missing.
  if (token) {
    bool onCard = false;
    if (facts.meterReturn && facts.meterReturn->meterNumber == token->meterNumber &&
        facts.meterReturn->lastSequence >= token->sequence) {
      onCard = true;
    } else {
      auto holds = timed([&] { return m_card.holds(*token); });
      if (!holds) {
        if (cardGone(holds.error())) return {Delivered::Pulled, {}, "card left"};
        result.detail = std::string(card::describe(holds.error()));
        return result;
      }
      onCard = *holds;
    }
    if (onCard) {
      auto recorded = m_journal.record(tx.id, Step::ReadBack, {},
                                       R"({"found_after_interruption":true})", now());
      if (!recorded) {
        journalOk(recorded.error(), "recording a read-back");
        result.detail = "journal unavailable";
        return result;
      }
      tx = *recorded;
      post(notice::WriteStep{2, 3});
      if (confirm(tx, cardNumber, token->sequence)) post(notice::WriteStep{3, 3});
      result.outcome = Delivered::Yes;
      result.delivery = {orderId, tx.credit, tx.fees, token->sequence, receiptUrl(orderId)};
      return result;
    }
  }

  const auto deadline = Steady::now() + m_options.writeWindow;
  auto delay = m_options.retryInitial;
  int cardAttempts = 0;
  // The token this write carries, once the cloud has sent it: journaled with the read-back.
  std::optional<IssuedToken> carried;
  for (;;) {
    if (cardChanged(generation)) return {Delivered::Pulled, {}, "card left"};
    auto challenge = timed([&] { return m_card.challenge(); });
    if (!challenge) {
      if (cardGone(challenge.error())) return {Delivered::Pulled, {}, "card left"};
      if (challenge.error() == card::CardError::Reset && ++cardAttempts < 3) {
        (void)timed([&] { return m_card.read(); });  // selects the application again
        continue;
      }
      result.detail = std::string(card::describe(challenge.error()));
      return result;
    }
    const auto asked = Steady::now();
    auto reply = m_cloud.fetchScript(orderId, cardNumber, kiosk::toHex(*challenge));
    spent(Steady::now() - asked, true);
    if (!reply) {
      const PayFailure failure = reply.error();
      noteCloud(!isOffline(failure.error));
      if (isTransient(failure.error) && Steady::now() + delay < deadline) {
        if (!sleepFor(delay, generation)) return {Delivered::Pulled, {}, "card left"};
        delay = std::min(delay * 2, m_options.retryMax);
        continue;
      }
      event("cloud.error", json{{"call", "script"}, {"order_id", orderId},
                                {"failure", json::parse(failureJson(failure))}}.dump());
      if (failure.error == PayError::InvalidState) {
        // Not PAID any more (refunded, delivered by another kiosk): find out and settle.
        if (auto state = m_cloud.orderState(orderId)) settle(tx, *state, false);
      }
      result.detail = describe(failure);
      return result;
    }
    noteCloud(true);
    ScriptExpectation expect;
    expect.orderId = orderId;
    expect.meterNumber = facts.id.meterNumber;
    expect.utility = facts.id.utility;
    if (tx.credit > 0) expect.credit = tx.credit;
    if (!tx.tokenHex.empty()) expect.tokenHex = tx.tokenHex;
    if (carried) expect.tokenHex = carried->hex;  // a retry must carry the same token
    if (auto checked = checkScript(*reply, expect); !checked) {
      spdlog::error("engine: refusing the script for {}: {}", orderId, checked.error().detail);
      event("script.refused", json{{"order_id", orderId}, {"card_number", cardNumber},
                                   {"detail", checked.error().detail}}.dump());
      result.detail = "the cloud's script was refused: " + checked.error().detail;
      return result;
    }
    post(notice::WriteStep{1, 3});
    if (paidCommit) {
      std::unique_lock lock(m_mutex);
      const auto waiting = Steady::now();
      m_changed.wait(lock, [&] { return paidCommit->done; });
      if (const auto paid = m_paidSeen.find(orderId); paid != m_paidSeen.end()) {
        paid->second.journal += Steady::now() - waiting;
      }
      if (!paidCommit->ok) {
        result.detail = "journal unavailable";
        return result;
      }
    }
    // What is on disk before the UPDATE goes out is the Paid step: this order's credit is owed
    // to this card and its write may now happen. The token itself needs no commit of its own
    // first: it is the cloud's, one per order, the same at every fetch, and it goes into the
    // card's record for its sequence, so a write that a crash or a pull leaves unrecorded is
    // found on the card or written again at the next insertion, never twice. It is journaled
    // with the read-back (or the pull), which keeps a durable commit off the resident's wait.
    carried = reply->issued;
    auto ran = timed([&] { return m_card.run(reply->script); });
    if (ran) {
      {
        std::lock_guard lock(m_mutex);
        const auto paid = m_paidSeen.find(orderId);
        if (paid != m_paidSeen.end()) {
          WriteTiming timing;
          timing.total = Steady::now() - paid->second.at;
          timing.cloud = paid->second.cloud;
          timing.card = paid->second.card;
          timing.journal = paid->second.journal;
          m_lastTiming = timing;
          m_paidSeen.erase(paid);
        }
      }
      break;
    }
    const card::CardError error = ran.error();
    if (cardGone(error)) {
      if (auto pulled = m_journal.record(tx.id, {Step::ScriptFetched, Step::ApduSent, Step::CardPulled},
                                         tokenUpdate(*carried),
                                         json{{"error", card::describe(error)},
                                              {"sequence", carried->token.sequence}}.dump(),
                                         now());
          !pulled) {
        journalOk(pulled.error(), "recording a pulled card");
      }
      return {Delivered::Pulled, {}, "card left"};
    }
    if ((error == card::CardError::AccessDenied || error == card::CardError::BadData ||
         error == card::CardError::Reset) &&
        ++cardAttempts < 2) {
      // A stale challenge (another GET CHALLENGE came between) or a read-back that did not
      // show the token: ask the card, then try once more with a fresh challenge.
      auto holds = timed([&] { return m_card.holds(reply->issued.token); });
      if (holds && *holds) break;
      continue;
    }
    event("card.write_failed", json{{"order_id", orderId}, {"error", card::describe(error)}}.dump());
    result.detail = std::string(card::describe(error));
    if (error == card::CardError::Full) result.detail = "card full";
    return result;
  }

  const std::uint32_t sequence = carried->token.sequence;
  auto recorded = m_journal.record(
      tx.id, {Step::ScriptFetched, Step::ApduSent, Step::ReadBack}, tokenUpdate(*carried),
      json{{"sequence", sequence}, {"record", card::creditRecordFor(sequence)}}.dump(), now());
  post(notice::WriteStep{2, 3});
  if (!recorded) {
    journalOk(recorded.error(), "recording a read-back");
    // The token is on the card (read back), but nothing confirms what the journal does not
    // hold: delivery is confirmed once the journal works again (the Paid step sends this card
    // back here, the card shows the token, and the confirmation is journaled first).
  } else {
    tx = *recorded;
    if (confirm(tx, cardNumber, sequence)) post(notice::WriteStep{3, 3});
  }
  result.outcome = Delivered::Yes;
  result.delivery = {orderId, carried->token.amount, tx.fees, sequence, receiptUrl(orderId)};
  return result;
}

Result<void, PayFailure> Engine::confirm(TxRecord& tx, const std::string& cardNumber,
                                         std::uint32_t sequence) {
  auto delay = m_options.retryInitial;
  Decoded<Order> confirmed = fail(PayFailure{PayError::Offline, "not tried", 0, {}});
  for (int attempt = 0; attempt < 3; ++attempt) {
    confirmed = m_cloud.confirmDelivery(tx.orderId, cardNumber, sequence);
    if (confirmed || confirmed.error().error == PayError::AlreadyDelivered ||
        !isTransient(confirmed.error().error)) {
      break;
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, m_options.retryMax);
  }
  if (!confirmed && confirmed.error().error != PayError::AlreadyDelivered) {
    noteCloud(!isOffline(confirmed.error().error));
    // The token is on the card: the sync loop confirms it later.
    event("cloud.error", json{{"call", "delivered"}, {"order_id", tx.orderId},
                              {"failure", json::parse(failureJson(confirmed.error()))}}.dump());
    return fail(confirmed.error());
  }
  noteCloud(true);
  auto done = m_journal.finish(tx.id, Outcome::Delivered,
                               json{{"sequence", sequence}}.dump(), now());
  if (!done) {
    journalOk(done.error(), "recording a confirmed delivery");
    return {};
  }
  tx = *done;
  return {};
}

// ---------------------------------------------------------------------------------------
// Sync: outbox, config, unfinished transactions

void Engine::syncLoop() {
  auto backoff = std::chrono::milliseconds(1000);
  bool first = true;
  for (;;) {
    {
      std::lock_guard lock(m_mutex);
      if (m_stopping) return;
      m_syncWake = false;
      m_syncRunning = true;
    }
    if (!m_journalOk) {
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
    const bool uploaded = uploadOutbox();
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
  {
    std::lock_guard lock(m_mutex);
    if (Steady::now() >= m_recheckAt) {
      recheckPaid = true;
      m_recheckAt = Steady::now() + std::chrono::duration_cast<Steady::duration>(m_options.recheckInterval);
    }
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
      if (cancelled) settle(tx, *cancelled, false);
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

// ---------------------------------------------------------------------------------------

bool CardFacts::holds(const card::CreditToken& token) const {
  return std::find(credits.begin(), credits.end(), token) != credits.end();
}

std::string describe(const Notice& notice) {
  struct Describe {
    std::string operator()(const notice::CardRead& n) const { return "card read " + n.cardNumber; }
    std::string operator()(const notice::CardRefused& n) const {
      return std::string("card refused: ") + problemName(n.problem) + " (" + n.detail + ")";
    }
    std::string operator()(const notice::AccountReady& n) const {
      return "account " + n.account.cardNumber + (n.offline ? " (offline)" : "");
    }
    std::string operator()(const notice::PendingCredit& n) const { return "pending credit " + n.orderId; }
    std::string operator()(const notice::OrderOpened& n) const { return "order opened " + n.orderId; }
    std::string operator()(const notice::OrderRefused& n) const {
      return std::string("order refused") + (n.network ? " (network)" : "") + ": " + n.detail;
    }
    std::string operator()(const notice::OrderPaid& n) const { return "order paid " + n.orderId; }
    std::string operator()(const notice::OrderDeclined& n) const { return "order declined " + n.orderId; }
    std::string operator()(const notice::OrderExpired& n) const { return "order expired " + n.orderId; }
    std::string operator()(const notice::OrderCancelled& n) const { return "order cancelled " + n.orderId; }
    std::string operator()(const notice::WriteStep& n) const {
      return "write step " + std::to_string(n.step) + "/" + std::to_string(n.steps);
    }
    std::string operator()(const notice::WriteDone& n) const {
      std::string out = "write done:";
      for (const auto& d : n.deliveries) out += " " + d.orderId + "#" + std::to_string(d.sequence);
      return out;
    }
    std::string operator()(const notice::WriteFailed& n) const { return "write failed: " + n.detail; }
    std::string operator()(const notice::ServiceFault& n) const { return "service fault " + n.reasonKey; }
    std::string operator()(const notice::ServiceRestored&) const { return "service restored"; }
  };
  return std::visit(Describe{}, notice);
}

}  // namespace kiosk::payments
