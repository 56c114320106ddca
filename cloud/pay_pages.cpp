#include "cloud/pay_pages.hpp"
#include "protocol/masking.hpp"
#include "platform/time_format.hpp"

#include <cstdlib>


namespace kiosk::cloud {
namespace {

std::string htmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string money(std::int64_t minor) {
  const std::int64_t whole = minor / 100;
  const std::int64_t cents = std::llabs(minor % 100);
  return std::to_string(whole) + "." + (cents < 10 ? "0" : "") + std::to_string(cents);
}

}  // namespace

std::string payPage(const Order& order, const std::string& maskedAccount,
                    const std::string& formAction) {
  std::string page = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay for electricity credit</title>
<style>
body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}.amount{font-size:2.4rem;font-weight:bold;margin:1rem 0}
button{font-size:1.2rem;padding:.8rem 1.6rem;margin:.4rem;border-radius:.4rem;border:0}
#pay{background:#1a7f37;color:#fff}#decline{background:#ccc}
</style></head><body>
<h1>Simulated payment / 模拟支付</h1>
<p>Order <code id="order">{ORDER}</code></p>
<p>Account <span id="account">{ACCOUNT}</span></p>
<div class="amount" id="amount">¥{AMOUNT}</div>
<p id="state">{STATE}</p>
<form method="post" action="{ACTION}">
<button id="pay" name="action" value="pay" type="submit">Pay / 支付</button>
<button id="decline" name="action" value="decline" type="submit">Decline / 拒绝</button>
</form></body></html>
)";
  auto replace = [&page](const std::string& key, const std::string& value) {
    const auto at = page.find(key);
    if (at != std::string::npos) page.replace(at, key.size(), value);
  };
  replace("{ORDER}", htmlEscape(order.id));
  replace("{ACCOUNT}", htmlEscape(maskedAccount));
  replace("{AMOUNT}", money(order.amount));
  replace("{STATE}", htmlEscape(order.state));
  replace("{ACTION}", htmlEscape(formAction));
  return page;
}

std::string receiptPage(const Order& order, const std::string& maskedAccount, const std::string& zone) {
  auto utc = [&zone](std::optional<std::int64_t> at) -> std::string {
    if (!at) return "-";
    return platform::formatTime(*at, zone.empty() ? platform::kUtcZone : std::string_view(zone),
                                platform::kDateTimeZonePattern);
  };
  const std::string card = protocol::maskCardNumber(order.cardNumber);
  return std::string(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Receipt / 收据</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
td{padding:.2rem .6rem}</style></head><body>
<h1>Receipt / 收据</h1><table>
<tr><td>Order / 订单</td><td id="order">)") +
         htmlEscape(order.id) + R"(</td></tr>
<tr><td>Account / 户号</td><td id="account">)" + htmlEscape(maskedAccount) + R"(</td></tr>
<tr><td>Card / 卡号</td><td id="card">)" + htmlEscape(card) + R"(</td></tr>
<tr><td>Meter / 表号</td><td id="meter">)" + htmlEscape(order.meterNumber) + R"(</td></tr>
<tr><td>Paid / 实付</td><td id="amount">¥)" + money(order.amount) + R"(</td></tr>
<tr><td>Fees / 缴费</td><td id="fees">¥)" + money(order.feeAmount) + R"(</td></tr>
<tr><td>Credit / 充值</td><td id="credit">¥)" + money(order.creditAmount) + R"(</td></tr>
<tr><td>State / 状态</td><td id="state">)" + htmlEscape(order.state) + R"(</td></tr>
<tr><td>Paid at / 支付时间</td><td>)" + utc(order.paidAt) + R"(</td></tr>
<tr><td>Delivered at / 写卡时间</td><td>)" + utc(order.deliveredAt) + R"(</td></tr>
</table></body></html>
)";
}

std::string resultPage(const std::string& title, const std::string& message) {
  return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + htmlEscape(title) +
         "</title></head><body><h1 id=\"result\">" + htmlEscape(title) + "</h1><p>" +
         htmlEscape(message) + "</p></body></html>\n";
}

}  // namespace kiosk::cloud
