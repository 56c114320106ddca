#pragma once
// The kiosk API client: signs every request, sends it over a Transport, maps failures through
// classify() and decodes answers strictly. Thread-safe; it holds no state about orders.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "payments/responses.hpp"
#include "payments/decode.hpp"
#include "payments/signer.hpp"
#include "payments/transport.hpp"

namespace kiosk::payments {

struct OrderRequest {
  std::string idempotencyKey;  // the same key (and body) finds the same order again
  std::string cardNumber;
  std::int64_t amount = 0;
  std::string challenge;  // 16 hex digits from the card's GET CHALLENGE
};

struct OutboxEvent {
  std::int64_t seq = 0;
  std::string type;
  std::int64_t at = 0;
  std::string data;  // a JSON object
};

struct ConfigDownload {
  KioskConfig config;
  std::string etag;
  std::string body;  // as received, kept for offline use
};

class CloudClient {
 public:
  CloudClient(Transport& transport, RequestSigner signer);

  Decoded<CardSummary> lookupCard(const std::string& cardNumber);
  Decoded<CreatedOrder> createOrder(const OrderRequest& request);
  // With `wait` > 0 the cloud holds the answer until the state is no longer `since` (long
  // poll); `cancel` aborts the wait from another thread.
  Decoded<Order> orderState(const std::string& orderId, std::chrono::seconds wait = {},
                            std::optional<OrderState> since = std::nullopt,
                            const std::atomic<bool>* cancel = nullptr);
  Decoded<Order> cancelOrder(const std::string& orderId);
  // The order's token (minted on the first call, the same one afterwards) in a write script
  // MAC'd for the card's fresh challenge. Decoded only: the caller checks it with checkScript.
  Decoded<ScriptReply> fetchScript(const std::string& orderId, const std::string& cardNumber,
                                   const std::string& challengeHex);
  Decoded<Order> confirmDelivery(const std::string& orderId, const std::string& cardNumber,
                                 std::int64_t sequence, const DeliveryProof& proof);
  Decoded<JournalAck> uploadJournal(const std::vector<OutboxEvent>& events);
  Decoded<ReadingAck> postReading(const std::string& cardNumber, const std::string& returnHex);
  // nullopt: not modified since `etag`.
  Decoded<std::optional<ConfigDownload>> fetchConfig(const std::string& etag);

  // The exact body createOrder sends (the cloud compares it when a key is reused).
  static std::string orderBody(const OrderRequest& request);
  // Time spent waiting for the transport since construction (the network and the cloud).
  std::chrono::nanoseconds transportTime() const {
    return std::chrono::nanoseconds(m_transportNanos.load());
  }

 private:
  Result<HttpResponse, PayFailure> call(const std::string& method, const std::string& target,
                                        const std::string& body, std::chrono::milliseconds timeout = {},
                                        const std::atomic<bool>* cancel = nullptr,
                                        std::vector<std::pair<std::string, std::string>> extra = {});

  Transport& m_transport;
  RequestSigner m_signer;
  std::atomic<std::int64_t> m_transportNanos{0};
};

}  // namespace kiosk::payments
