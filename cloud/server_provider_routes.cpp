#include "cloud/pay_pages.hpp"
#include "cloud/server_impl.hpp"
#include "protocol/masking.hpp"

#include <cctype>
#include <optional>

// What the payment provider and residents' phones reach: the provider's signed webhook, the
// simulated provider's pay page, and the receipt page.

namespace kiosk::cloud {

void Server::Impl::registerProviderRoutes() {
  route("POST", R"(/v1/payments/([a-z]+)/notify)", "payment_webhook",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
          if (req.matches[1] != provider.name()) {
            return failWith(CloudError::NotFound, "no provider " + std::string(req.matches[1]));
          }
          WebhookRequest hook;
          for (const auto& [name, value] : req.headers) {
            std::string lower = name;
            for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            hook.headers[lower] = value;
          }
          hook.body = req.body;
          KIOSK_TRY(event, provider.parseWebhook(hook, now()));
          KIOSK_TRY(result, store.recordPayment(*event, now()));
          metrics.count("kiosk_cloud_payments_total",
                        "outcome=\"" + std::string(outcomeName(result->outcome)) + "\"");
          spdlog::info("payment {} for order {}: {}", protocol::forLog(event->eventId), protocol::forLog(event->orderId),
                       outcomeName(result->outcome));
          return Reply{200, {{"result", outcomeName(result->outcome)}, {"order_id", result->orderId}}};
        });

  // The receipt behind the QR code on the kiosk's done screen; the order id (random, 96
  // bits) is the key, as on the pay page. Only paid orders have one.
  page("GET", R"(/receipt/([A-Za-z0-9_]+))", [this](const http::Request& req, http::Response& res) {
    auto order = store.order(req.matches[1]);
    if (!order || (order->state != state::kPaid && order->state != state::kTokenIssued &&
                   order->state != state::kDelivered)) {
      res.status = 404;
      res.setContent(resultPage("Not found", "No receipt for this order."),
                      "text/html; charset=utf-8");
      return;
    }
    // Times in the zone of the kiosk that sold it (its own, else the service's).
    std::string zone = cfg.timeZone;
    if (auto own = store.kioskTimeZone(order->kioskId); own && !own->empty()) zone = *own;
    res.setContent(receiptPage(*order, protocol::maskAccountId(order->accountId), zone),
                   "text/html; charset=utf-8");
  });

  // The pay page stands in for a wallet app and the provider's servers, so it is served only
  // for the simulated provider.
  auto* simulated = dynamic_cast<SimulatedProvider*>(&provider);
  if (simulated == nullptr) return;
  // The order a pay page is about, while it can still be paid. Otherwise the answer is set: no
  // such order, or a closed one shown as closed and taking no payment, as a wallet refuses it.
  auto payable = [this](const http::Request& req, http::Response& res) -> std::optional<Order> {
    auto order = store.order(req.matches[1]);
    if (!order) {
      res.status = 404;
      res.setContent(resultPage("Not found", "No such order."), "text/html");
      return std::nullopt;
    }
    if (order->state == state::kCreated) return std::move(*order);
    std::string why = "This order is already paid.";
    if (order->state == state::kCanceled) why = "This order was cancelled; it cannot be paid.";
    if (order->state == state::kExpired) why = "This order has expired; it cannot be paid.";
    if (order->state == state::kRefundPending || order->state == state::kRefunded) {
      why = "This order was refunded; it cannot be paid.";
    }
    res.status = 409;
    res.setContent(resultPage("Order closed", why), "text/html; charset=utf-8");
    return std::nullopt;
  };
  page("GET", R"(/pay/([A-Za-z0-9_]+))", [payable](const http::Request& req, http::Response& res) {
    const auto order = payable(req, res);
    if (!order) return;
    res.setContent(payPage(*order, protocol::maskAccountId(order->accountId),
                                               "/pay/" + order->id),
                    "text/html; charset=utf-8");
  });
  http->route("POST", R"(/pay/([A-Za-z0-9_]+))", [this, simulated, payable](http::Request& req,
                                                                         http::Responder respond) {
    http::Response res;
    const auto order = payable(req, res);
    if (!order) return respond(std::move(res));
    const std::string action = req.param("action");
    if (action != "pay" && action != "decline") {
      res.status = 400;
      res.setContent(resultPage("Bad request", "Press Pay or Decline."), "text/html");
      return respond(std::move(res));
    }
    // The simulated provider's servers tell the cloud through the signed webhook, from their
    // own threads; the page is answered when the webhook has been.
    auto responder = std::make_shared<http::Responder>(std::move(respond));
    const bool pay = action == "pay";
    simulated->deliverLater(simulated->notification(*order, pay ? "SUCCESS" : "DECLINED", now()),
                            [responder, pay](CloudResult<bool> sent) {
                              http::Response page;
                              if (!sent) {
                                page.status = 502;
                                page.setContent(resultPage("Payment failed", sent.error().message), "text/html");
                              } else {
                                page.setContent(resultPage(pay ? "Payment complete" : "Payment declined",
                                                           pay ? "You can return to the kiosk."
                                                               : "Nothing was charged."),
                                                "text/html; charset=utf-8");
                              }
                              (*responder)(std::move(page));
                            });
  });
}

}  // namespace kiosk::cloud
