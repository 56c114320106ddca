#include "payments/decode.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <memory>

#include "protocol/card_summary.hpp"
#include "protocol/json_fields.hpp"
#include "protocol/json_reader.hpp"
#include "protocol/limits.hpp"
#include "protocol/text.hpp"
#include "protocol/text.hpp"

namespace kiosk::payments {

namespace {

using nlohmann::json;
using namespace protocol::limits;

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

PayFailure bad(std::string detail) {
  PayFailure failure;
  failure.error = PayError::BadResponse;
  failure.detail = std::move(detail);
  return failure;
}

using Reader = protocol::JsonReader;
using protocol::readNumber;
using protocol::readOrderId;
using protocol::readOrderState;

Result<json, PayFailure> parse(std::string_view body) {
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return fail(bad("answer is not valid JSON"));
  if (!doc.is_object()) return fail(bad("answer is not a JSON object"));
  return doc;
}

Order readOrder(Reader& r) {
  Order order;
  order.id = readOrderId(r, "order_id");
  const std::string kind = r.string("kind", kMaxKindLength);
  const auto orderKind = protocol::orderKindFromString(kind);
  r.checkField(!r.ok() || orderKind.has_value(), "kind", "is not a known order kind (" + kind + ")");
  order.kind = orderKind.value_or(protocol::OrderKind::CardTopup);
  order.kioskId = r.string("kiosk_id", kMaxIdLength);
  order.cardNumber = readNumber(r, "card_number");
  order.meterNumber = readNumber(r, "meter_number");
  order.origin = r.string("origin", kMaxKindLength);
  order.originOrderId = r.optString("origin_order_id", kMaxIdLength);
  order.amount = r.integer("amount", 1, kMaxMoney);
  Reader split = r.object("split");
  order.fees = split.integer("fees", 0, kMaxMoney);
  order.credit = split.integer("credit", 0, kMaxMoney);
  r.check(!r.ok() || order.fees + order.credit == order.amount,
          "split.fees + split.credit differ from amount");
  order.state = readOrderState(r, "state");
  order.reason = r.optString("reason", 64);
  order.createdAt = r.integer("created_at", 1, kMaxTime);
  order.expiresAt = r.integer("expires_at", 1, kMaxTime);
  order.updatedAt = r.integer("updated_at", 1, kMaxTime);
  r.check(!r.ok() || order.expiresAt >= order.createdAt, "expires_at is before created_at");
  if (order.state == OrderState::Created) {
    order.qrUrl = r.optString("qr_url", 2048);
  }
  return order;
}

bool startsWithHttp(std::string_view url) {
  return url.starts_with("https://") || url.starts_with("http://");
}

template <class T, class Read>
Decoded<T> decodeWith(std::string_view body, Read read) {
  auto doc = parse(body);
  if (!doc) return fail(doc.error());
  Reader reader = Reader::root(*doc);
  T value = read(reader);
  if (!reader.ok()) return fail(bad(reader.problem()));
  return value;
}

std::optional<std::uint64_t> toUnsigned(std::string_view digits) {
  if (!protocol::isNumber(digits)) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : digits) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace

std::pair<std::string, std::string> cloudErrorOf(std::string_view body) {
  const auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return {};
  const auto error = doc.find("error");
  if (error == doc.end() || !error->is_object()) return {};
  std::pair<std::string, std::string> out;
  if (const auto code = error->find("code"); code != error->end() && code->is_string()) {
    out.first = code->get<std::string>().substr(0, 64);
  }
  if (const auto message = error->find("message"); message != error->end() && message->is_string()) {
    out.second = message->get<std::string>().substr(0, 512);
  }
  return out;
}

Decoded<Order> decodeOrder(std::string_view body) {
  return decodeWith<Order>(body, [](Reader& r) { return readOrder(r); });
}

Decoded<CreatedOrder> decodeCreatedOrder(std::string_view body) {
  return decodeWith<CreatedOrder>(body, [](Reader& r) {
    CreatedOrder created;
    created.order = readOrder(r);
    // The kiosk asked for a card top-up: an order for anything else writes nothing to a card.
    r.check(!r.ok() || created.order.kind == protocol::OrderKind::CardTopup,
            "kind is not CARD_TOPUP");
    // A new order is waiting for its payment: without a URL there is nothing to show.
    if (r.ok() && created.order.state == OrderState::Created) {
      r.checkField(startsWithHttp(created.order.qrUrl), "qr_url", "is missing or not an http(s) URL");
    }
    r.array("fee_items", kMaxFeeItems, [&](Reader& item) {
      FeeItem fee;
      fee.feeId = item.string("fee_id", kMaxIdLength);
      fee.item = item.string("item", kMaxKindLength);
      fee.amount = item.integer("amount", 1, kMaxMoney);
      created.feeItems.push_back(std::move(fee));
    }, false);
    return created;
  });
}

Decoded<CardSummary> decodeCardSummary(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return fail(doc.error());
  auto summary = protocol::decodeCardSummary(*doc);
  if (!summary) return fail(bad(summary.error()));
  return std::move(*summary);
}

Decoded<ScriptReply> decodeScriptReply(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return fail(doc.error());
  Reader r = Reader::root(*doc);
  ScriptReply reply;
  reply.issued.orderId = readOrderId(r, "order_id");
  const std::string state = r.string("state", 32);
  r.checkField(!r.ok() || state == "TOKEN_ISSUED", "state", "is not TOKEN_ISSUED");
  Reader token = r.object("token");
  const std::string meter = readNumber(token, "meter_number");
  const std::int64_t sequence = token.integer("sequence", 1, 0xFFFFFFFF);
  const std::int64_t amount = token.integer("amount", 1, 0xFFFFFFFF);
  const std::int64_t keyVersion = token.integer("key_version", 1, 255);
  const std::int64_t issuedAt = token.integer("issued_at", 1, 0xFFFFFFFF);
  const std::string hex = token.string("hex", 64);
  const std::string nonce = r.string("delivery_nonce", 2 * card::profile::kDeliveryNonceSize);
  r.checkField(!r.ok() || protocol::isHexOf(nonce, 2 * card::profile::kDeliveryNonceSize),
               "delivery_nonce", "is not 16 bytes of hex");
  const json* script = r.find("script");
  r.check(!r.ok() || (script != nullptr && script->is_object()), "script is missing or not an object");
  if (!r.ok()) return fail(bad(r.problem()));

  const auto bytes = kiosk::fromHex(hex);
  if (!bytes || bytes->size() != card::profile::kTokenSize) {
    return fail(bad("token.hex is not a 32-byte CREDIT record"));
  }
  auto decoded = card::decodeToken(*bytes);
  if (!decoded) return fail(bad("token.hex is not a valid credit token"));
  const auto meterNumber = toUnsigned(meter);
  // The fields beside the record must say the same as the record itself.
  if (!meterNumber || decoded->meterNumber != *meterNumber ||
      decoded->sequence != static_cast<std::uint32_t>(sequence) ||
      decoded->amount != static_cast<std::uint32_t>(amount) ||
      decoded->keyVersion != static_cast<std::uint8_t>(keyVersion) ||
      decoded->issuedAt != static_cast<std::uint32_t>(issuedAt)) {
    return fail(bad("token fields differ from the token record"));
  }
  auto steps = card::writeScriptFromJson(script->dump());
  if (!steps) return fail(bad("script is not a valid write script"));
  reply.issued.token = *decoded;
  reply.issued.hex = kiosk::toHex(*bytes);
  reply.issued.deliveryNonce = nonce;
  reply.script = std::move(*steps);
  return reply;
}

std::string DeliveryProof::toJson() const {
  json out = json::object();
  if (!cardSignature.empty()) out["card_signature"] = cardSignature;
  if (!meterReturn.empty()) out["meter_return"] = meterReturn;
  return out.dump();
}

DeliveryProof DeliveryProof::fromJson(std::string_view text) {
  DeliveryProof proof;
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return proof;
  if (const auto it = doc.find("card_signature"); it != doc.end() && it->is_string()) {
    proof.cardSignature = it->get<std::string>();
  }
  if (const auto it = doc.find("meter_return"); it != doc.end() && it->is_string()) {
    proof.meterReturn = it->get<std::string>();
  }
  return proof;
}

Result<void, PayFailure> checkScript(const ScriptReply& reply, const ScriptExpectation& expect) {
  const card::CreditToken& token = reply.issued.token;
  if (reply.issued.orderId != expect.orderId) {
    return fail(bad("script is for order " + reply.issued.orderId + ", not " + expect.orderId));
  }
  if (token.meterNumber != expect.meterNumber) {
    return fail(bad("token is for meter " + std::to_string(token.meterNumber) +
                    ", the card's meter is " + std::to_string(expect.meterNumber)));
  }
  if (token.utility != expect.utility) return fail(bad("token is for another utility"));
  if (expect.credit && static_cast<std::int64_t>(token.amount) != *expect.credit) {
    return fail(bad("token amount " + std::to_string(token.amount) + " differs from the credit " +
                    std::to_string(*expect.credit) + " of the order"));
  }
  if (expect.tokenHex && *expect.tokenHex != reply.issued.hex) {
    return fail(bad("cloud sent another token than the one recorded for this order"));
  }

  // The script's shape is the card profile's to judge: the kiosk cannot check its MAC.
  if (auto shape = card::checkCreditWriteScript(reply.script, token); !shape) {
    return fail(bad(shape.error()));
  }
  return {};
}

Decoded<JournalAck> decodeJournalAck(std::string_view body) {
  return decodeWith<JournalAck>(body, [](Reader& r) {
    JournalAck ack;
    ack.accepted = r.integer("accepted", 0, 100000);
    ack.duplicates = r.integer("duplicates", 0, 100000);
    ack.lastSeq = r.integer("last_seq", 0, kMaxInt);
    return ack;
  });
}

Decoded<ReadingAck> decodeReadingAck(std::string_view body) {
  return decodeWith<ReadingAck>(body, [](Reader& r) {
    ReadingAck ack;
    ack.stored = r.boolean("stored");
    ack.tokensLoaded = r.integer("tokens_loaded", 0, 100000);
    return ack;
  });
}

Decoded<KioskConfig> decodeKioskConfig(std::string_view body) {
  auto doc = parse(body);
  if (!doc) return fail(doc.error());
  auto config = protocol::decodeKioskConfig(*doc);
  if (!config) return fail(bad(config.error()));
  return std::move(*config);
}

}  // namespace kiosk::payments
