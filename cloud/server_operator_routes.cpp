#include "cloud/api_json.hpp"
#include "cloud/operator_requests.hpp"
#include "cloud/request_json.hpp"
#include "cloud/server_impl.hpp"
#include "protocol/limits.hpp"
#include "protocol/text.hpp"

#include <algorithm>
#include <cstdlib>

// The operator API: creating and blocking what the store holds, orders and refunds, reports.
// Requests are read and checked here (cloud/operator_requests.hpp) before the store sees them.

namespace kiosk::cloud {
namespace {

using nlohmann::json;
namespace limits = protocol::limits;

}  // namespace

void Server::Impl::registerOperatorRoutes() {
  auto admin = [this](const std::string& method, const std::string& pattern, const std::string& name,
                      auto body) {
    route(method, pattern, name,
          [this, body](const http::Request& req, http::Response& res) -> CloudResult<Reply> {
            KIOSK_TRY(ok, authenticateAdmin(req));
            return body(req, res);
          });
  };
  // Read and checked here, stored by the store, answered with what was stored.
  auto creator = [this, admin]<class Request>(const std::string& path,
                                              CloudResult<Request> (*read)(const json&),
                                              CloudResult<bool> (Store::*create)(const Request&, std::int64_t)) {
    admin("POST", "/v1/admin/" + path, "admin_create_" + path,
          [this, read, create](const http::Request& req, http::Response&) -> CloudResult<Reply> {
            KIOSK_TRY(body, parseBody(req.body));
            KIOSK_TRY(request, read(*body));
            KIOSK_TRY(created, (store.*create)(*request, now()));
            return Reply{201, createdToJson(*request)};
          });
  };
  creator("tariffs", &readNewTariff, &Store::createTariff);
  creator("accounts", &readNewAccount, &Store::createAccount);
  creator("meters", &readNewMeter, &Store::createMeter);
  creator("cards", &readNewCard, &Store::createCard);
  creator("fees", &readNewFee, &Store::createFee);
  creator("kiosks", &readNewKiosk, &Store::createKiosk);
  creator("staff", &readNewStaff, &Store::createStaff);
  admin("POST", std::string(R"(/v1/admin/(accounts|cards|kiosks|staff|meters)/)") + protocol::kIdPattern + "/status",
        "admin_status", [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
          KIOSK_TRY(body, parseBody(req.body));
          const std::string table = req.matches[1];
          const std::string id = req.matches[2];
          KIOSK_TRY(status, readStatus(table, *body));
          KIOSK_TRY(result, store.setStatus(table, id, *status, now()));
          return Reply{200, {{"id", id}, {"status", *status}}};
        });
  admin("POST", R"(/v1/admin/cards/([0-9]+)/public_key)", "admin_card_key",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
          KIOSK_TRY(body, parseBody(req.body));
          KIOSK_TRY(key, readCardPublicKey(*body, true));
          KIOSK_TRY(done, store.registerCardPublicKey(req.matches[1], *key));
          return Reply{200, {{"number", req.matches[1]}, {"public_key", *key}}};
        });
  admin("GET", "/v1/admin/orders", "admin_orders",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
          int limit = req.hasParam("limit") ? std::atoi(req.param("limit").c_str()) : 100;
          limit = std::clamp(limit, 1, 1000);
          const std::string stateFilter = req.param("state");
          const std::string kioskFilter = req.param("kiosk");
          if (!stateFilter.empty() && !protocol::isKnownState(stateFilter)) {
            return Unexpected<Failure>{bad("state must be an order state (CREATED, PAID, ...)")};
          }
          if (kioskFilter.size() > limits::kMaxIdLength || !protocol::isText(kioskFilter)) {
            return Unexpected<Failure>{bad("kiosk is not a kiosk id")};
          }
          KIOSK_TRY(list, store.listOrders(stateFilter, kioskFilter, limit));
          return Reply{200, orderListToJson(*list)};
        });
  admin("POST", R"(/v1/admin/orders/([A-Za-z0-9_]+)/refund)", "admin_refund",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
          KIOSK_TRY(result, store.requestRefund(req.matches[1], now()));
          wakeSweeper();
          return Reply{200, orderToJson(*result)};
        });
  admin("GET", "/v1/admin/revenue", "admin_revenue",
        [this](const http::Request& req, http::Response&) -> CloudResult<Reply> {
          const std::string period = req.hasParam("period") ? req.param("period") : "day";
          const std::string by = req.hasParam("by") ? req.param("by") : "kiosk";
          if (period != "day" && period != "month") {
            return Unexpected<Failure>{bad("period: day|month")};
          }
          if (by != "kiosk" && by != "building") return Unexpected<Failure>{bad("by: kiosk|building")};
          const auto periodValue = period == "day" ? RevenuePeriod::Day : RevenuePeriod::Month;
          const auto group = by == "kiosk" ? RevenueGroup::Kiosk : RevenueGroup::Building;
          KIOSK_TRY(report, store.revenue(periodValue, group));
          return Reply{200, revenueToJson(*report, periodValue, group)};
        });
  admin("GET", "/v1/admin/reconciliation", "admin_reconciliation",
        [this](const http::Request&, http::Response&) -> CloudResult<Reply> {
          KIOSK_TRY(report, store.reconciliation(now()));
          return Reply{200, reconciliationToJson(*report)};
        });
  admin("GET", "/v1/admin/warnings", "admin_warnings",
        [this](const http::Request&, http::Response&) -> CloudResult<Reply> {
          KIOSK_TRY(report, store.consumptionWarnings());
          return Reply{200, warningsToJson(*report)};
        });
}

}  // namespace kiosk::cloud
