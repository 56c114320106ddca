// The engine writes paid credit to the card and confirms the delivery to the cloud.
#include "payments/engine_internal.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace kiosk::payments {

using namespace engine_detail;

namespace {

bool cardGone(card::CardError error) {
  return error == card::CardError::Removed || error == card::CardError::NoCard ||
         error == card::CardError::NoReader || error == card::CardError::NoService;
}

// The journal's columns for a token the cloud issued: it says what went (or goes) onto the card.
TxUpdate tokenUpdate(const IssuedToken& issued) {
  TxUpdate update;
  update.tokenHex = issued.hex;
  update.tokenSeq = issued.token.sequence;
  update.credit = issued.token.amount;
  update.deliveryNonce = issued.deliveryNonce;
  return update;
}

}  // namespace

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

// Started by the PAID answer the order worker saw (m_paidAt), kept across a pull and the
// reinsertion; an off timer when this kiosk did not see the payment.
WriteTimer& Engine::writeTimer(const std::string& orderId) {
  std::optional<Steady::time_point> paidAt;
  {
    std::lock_guard lock(m_mutex);
    if (const auto paid = m_paidAt.find(orderId); paid != m_paidAt.end()) {
      paidAt = paid->second;
      m_paidAt.erase(paid);
    }
  }
  if (paidAt) m_writeTimers.insert_or_assign(orderId, WriteTimer(*paidAt));
  if (const auto found = m_writeTimers.find(orderId); found != m_writeTimers.end()) {
    return found->second;
  }
  m_untimed = WriteTimer{};
  return m_untimed;
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
  WriteTimer& timer = writeTimer(orderId);

  std::optional<card::CreditToken> token = tokenOf(tx.tokenHex);
  // A token journaled earlier may already be on the card (a tear after the UPDATE), or
  // already loaded by the meter: then only the confirmation, and maybe its proof, is missing.
  if (token) {
    DeliveryProof proof = DeliveryProof::fromJson(tx.deliveryProof);
    bool onCard = !proof.empty();
    if (!onCard && facts.meterReturn && facts.meterReturn->meterNumber == token->meterNumber &&
        facts.meterReturn->lastSequence >= token->sequence) {
      // The meter loaded it and freed its record: the meter's own RETURN is the proof.
      proof.meterReturn = kiosk::toHex(card::encodeReturn(*facts.meterReturn));
      onCard = true;
    } else if (!onCard) {
      auto holds = timer.card([&] { return m_card.holds(*token); });
      if (!holds) {
        if (cardGone(holds.error())) return {Delivered::Pulled, {}, "card left"};
        result.detail = std::string(card::describe(holds.error()));
        return result;
      }
      // On the card but with no nonce journaled: the script below brings it (writing the
      // same token again changes nothing on the card).
      if (*holds && !tx.deliveryNonce.empty()) {
        auto proved = proveOnCard(tx.orderId, *token, tx.deliveryNonce);
        if (!proved && cardGone(proved.error())) return {Delivered::Pulled, {}, "card left"};
        if (proved) proof = *proved;
        onCard = true;
      }
    }
    if (onCard) {
      TxUpdate update;
      if (!proof.empty()) update.deliveryProof = proof.toJson();
      auto recorded = m_journal.record(tx.id, Step::ReadBack, update,
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
    auto challenge = timer.card([&] { return m_card.challenge(); });
    if (!challenge) {
      if (cardGone(challenge.error())) return {Delivered::Pulled, {}, "card left"};
      if (challenge.error() == card::CardError::Reset && ++cardAttempts < 3) {
        (void)timer.card([&] { return m_card.read(); });  // selects the application again
        continue;
      }
      result.detail = std::string(card::describe(challenge.error()));
      return result;
    }
    auto reply = timer.cloud(
        [&] { return m_cloud.fetchScript(orderId, cardNumber, kiosk::toHex(*challenge)); });
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
      timer.journalWaited(Steady::now() - waiting);
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
    auto ran = timer.card([&] { return m_card.run(reply->script); });
    if (ran) {
      if (const auto timing = timer.finish()) {
        std::lock_guard lock(m_mutex);
        m_lastTiming = *timing;
      }
      m_writeTimers.erase(orderId);
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
      auto holds = timer.card([&] { return m_card.holds(reply->issued.token); });
      if (holds && *holds) break;
      continue;
    }
    event("card.write_failed", json{{"order_id", orderId}, {"error", card::describe(error)}}.dump());
    result.detail = std::string(card::describe(error));
    if (error == card::CardError::Full) result.detail = "card full";
    return result;
  }

  const std::uint32_t sequence = carried->token.sequence;
  // The card's proof goes into the same commit as the read-back. A card pulled before it gave
  // one is asked again at its next insertion; until then the delivery stays unconfirmed.
  TxUpdate update = tokenUpdate(*carried);
  if (auto proved = proveOnCard(orderId, carried->token, carried->deliveryNonce)) {
    update.deliveryProof = proved->toJson();
  }
  auto recorded = m_journal.record(
      tx.id, {Step::ScriptFetched, Step::ApduSent, Step::ReadBack}, update,
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

Result<DeliveryProof, card::CardError> Engine::proveOnCard(const std::string& orderId,
                                                           const card::CreditToken& token,
                                                           const std::string& nonceHex) {
  const auto nonce = kiosk::fromHex(nonceHex);
  if (!nonce) return fail(card::CardError::BadData);
  auto signature = m_card.prove(token, *nonce);
  if (!signature) {
    event("card.proof_failed", json{{"order_id", orderId}, {"sequence", token.sequence},
                                    {"error", card::describe(signature.error())}}.dump());
    return fail(signature.error());
  }
  DeliveryProof proof;
  proof.cardSignature = kiosk::toHex(*signature);
  return proof;
}

Result<void, PayFailure> Engine::confirm(TxRecord& tx, const std::string& cardNumber,
                                         std::uint32_t sequence) {
  const DeliveryProof proof = DeliveryProof::fromJson(tx.deliveryProof);
  if (proof.empty()) {
    // Nothing to show the cloud yet: the card proves the delivery at its next insertion.
    return fail(PayFailure{PayError::Rejected, "the card has not proven the delivery yet", 0, {}});
  }
  auto delay = m_options.retryInitial;
  Decoded<Order> confirmed = fail(PayFailure{PayError::Offline, "not tried", 0, {}});
  for (int attempt = 0; attempt < 3; ++attempt) {
    confirmed = m_cloud.confirmDelivery(tx.orderId, cardNumber, sequence, proof);
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
}  // namespace kiosk::payments
