#pragma once
// Payment providers behind one interface. A provider turns an order into a QR URL, checks the
// signature of its own webhook notifications and sends refunds. The simulated provider, the
// first implementation, has the cloud serve its pay page (cloud/pay_pages.hpp) and notifies the
// cloud through the same signed webhook a real one would.

#include "cloud/error.hpp"
#include "cloud/store_types.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace httplib {
class Client;
}

namespace kiosk::cloud {

struct WebhookRequest {
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class PaymentProvider {
 public:
  virtual ~PaymentProvider() = default;
  virtual std::string name() const = 0;
  // The URL the kiosk shows as a QR code for this order.
  virtual CloudResult<std::string> paymentUrl(const Order& order) = 0;
  // Verifies a notification's signature and reads the event from it.
  virtual CloudResult<PaymentEvent> parseWebhook(const WebhookRequest& request,
                                                 std::int64_t now) = 0;
  // Sends the order's money back to the payer. Idempotent by order id (the refund's request
  // number at the provider, WeChat Pay's out_refund_no, Alipay's out_request_no): asking again
  // for an order already refunded answers success and pays nothing more.
  virtual CloudResult<bool> refund(const Order& order) = 0;
};

// The simulated provider: the QR URL opens the cloud's own pay page; pressing Pay or Decline
// posts a signed notification to the provider's webhook URL, as a real provider's servers do.
class SimulatedProvider final : public PaymentProvider {
 public:
  SimulatedProvider(std::string publicBaseUrl, std::string webhookUrl, std::string secret);
  ~SimulatedProvider() override;
  // Set once the listening port is known, before serving.
  void setUrls(std::string publicBaseUrl, std::string webhookUrl);
  std::string name() const override { return "sim"; }
  CloudResult<std::string> paymentUrl(const Order& order) override;
  CloudResult<PaymentEvent> parseWebhook(const WebhookRequest& request, std::int64_t now) override;
  CloudResult<bool> refund(const Order& order) override;

  // The signed notification for a press of Pay (SUCCESS) or Decline (DECLINED), and sending
  // it to the webhook URL over HTTP(S).
  WebhookRequest notification(const Order& order, const std::string& status, std::int64_t now) const;
  CloudResult<bool> deliver(const WebhookRequest& request) const;
  // The same from the provider's own sender threads; `done` runs there with the outcome. A
  // pay page waits for it without holding one of the cloud's handler threads, which the
  // webhook itself needs (else concurrent pays would take every handler and wait for ever).
  void deliverLater(WebhookRequest request, std::function<void(CloudResult<bool>)> done);

 private:
  std::string m_publicBaseUrl;
  std::string m_webhookUrl;
  std::string m_secret;
  std::mutex m_refundMutex;
  std::set<std::string> m_refunded;  // order ids: the provider's record of refunds made
  mutable std::mutex m_poolMutex;
  mutable std::vector<std::unique_ptr<httplib::Client>> m_pool;
  struct Senders;
  std::unique_ptr<Senders> m_senders;
};

}  // namespace kiosk::cloud
