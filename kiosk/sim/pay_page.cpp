#include "kiosk/sim/pay_page.hpp"

#include "payments/curl_transport.hpp"

namespace kiosk::sim {

std::string answerPayPage(const std::string& payUrl, const std::string& action,
                          const std::string& caFile) {
  const auto scheme = payUrl.find("://");
  const auto path = scheme == std::string::npos ? std::string::npos : payUrl.find('/', scheme + 3);
  if (path == std::string::npos) return "pay URL is not a URL: " + payUrl;
  payments::CurlOptions curl;
  curl.baseUrl = payUrl.substr(0, path);
  curl.caFile = caFile;
  auto transport = payments::CurlTransport::create(curl);
  if (!transport) return "pay page: " + transport.error();
  payments::HttpRequest request;
  request.method = "POST";
  request.target = payUrl.substr(path);
  request.body = "action=" + action;
  request.contentType = "application/x-www-form-urlencoded";
  auto answer = (*transport)->send(request);
  if (!answer) return "pay page unreachable: " + answer.error().message;
  if (answer->status != 200) return "pay page answered HTTP " + std::to_string(answer->status);
  return {};
}

}  // namespace kiosk::sim
