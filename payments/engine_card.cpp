// The engine reads the card in the reader and looks up its account.
#include "payments/engine_internal.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace kiosk::payments {

using namespace engine_detail;

namespace {

CardProblem problemOf(card::CardError error) {
  switch (error) {
    case card::CardError::ForeignCard: return CardProblem::Foreign;
    case card::CardError::NotAuthentic: return CardProblem::NotAuthentic;
    case card::CardError::Full: return CardProblem::Full;
    default: return CardProblem::Unreadable;
  }
}

}  // namespace

void Engine::readCard() { m_cardWorker.post([this] { doReadCard(); }); }

void Engine::doReadCard() {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(m_mutex);
    generation = m_generation;
  }
  auto facts = m_card.read();
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
  if (facts->meterReturn) {
    // Kept until the cloud has it: a card read offline does not lose its meter's reading.
    if (auto kept = m_journal.keepReading(number, data["return"].get<std::string>(), now()); !kept) {
      spdlog::warn("engine: meter reading of card {} not kept: {}", number, describe(kept.error()));
    }
  }

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
  info.freeRecords = facts.freeRecords;
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
    if (summary->account) {
      info.holder = summary->account->resident;
      info.building = summary->account->building;
      info.room = summary->account->room;
      info.feePolicy = summary->account->feePolicy;
    }
    info.recent = summary->recent;
    info.fees = summary->fees;
    info.feesTotal = summary->feesTotal();
    info.pendingCredits = static_cast<int>(summary->pending.size());
    if (m_config && summary->meter) {
      if (const Tariff* tariff = m_config->tariff(summary->meter->tariffId)) {
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

  // The card's meter reading (kept at the read) goes now that the cloud answers; the sync
  // loop sends what cannot go now.
  (void)uploadReadings();
}
}  // namespace kiosk::payments
