#pragma once
// Strict decoding of the cloud's answers: every field the kiosk uses must be there, with the
// right type and a sensible value, or the whole answer is refused (PayError::BadResponse with
// the field's path in the detail). A write script must fit the card and the order exactly.

#include <string_view>

#include "payments/responses.hpp"
#include "payments/error.hpp"
#include "platform/result.hpp"

namespace kiosk::payments {

template <class T>
using Decoded = Result<T, PayFailure>;

Decoded<Order> decodeOrder(std::string_view body);
Decoded<CreatedOrder> decodeCreatedOrder(std::string_view body);
Decoded<CardSummary> decodeCardSummary(std::string_view body);
Decoded<ScriptReply> decodeScriptReply(std::string_view body);
Decoded<JournalAck> decodeJournalAck(std::string_view body);
Decoded<ReadingAck> decodeReadingAck(std::string_view body);
Decoded<KioskConfig> decodeKioskConfig(std::string_view body);

// Checks a decoded script against what the kiosk knows: the token is for this card's meter and
// utility, carries the order's credit, equals the token journaled earlier (never a second
// one), and the script is exactly "UPDATE RECORD (secure messaging) of that token into its
// CREDIT record, then read all CREDIT records back expecting it". Anything else is refused
// before a single APDU goes to the card.
Result<void, PayFailure> checkScript(const ScriptReply& reply, const ScriptExpectation& expect);

// The error code and message of a cloud error body ({"error":{"code":..,"message":..}}), empty
// when the body is not one.
std::pair<std::string, std::string> cloudErrorOf(std::string_view body);


}  // namespace kiosk::payments
