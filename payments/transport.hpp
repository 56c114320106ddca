#pragma once
// The seam between the cloud client and the network: one HTTP exchange in, the answer or the
// transport's failure out. libcurl implements it (curl_transport.hpp); unit tests use an
// in-process fake.

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "platform/result.hpp"

namespace kiosk::payments {

struct HttpRequest {
  std::string method = "GET";  // GET or POST
  std::string target;          // path and query as signed: "/v1/kiosk/orders/ord_1?wait=25"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string contentType = "application/json";
  std::chrono::milliseconds timeout{0};  // total time for this request; 0: the default
  const std::atomic<bool>* cancel = nullptr;  // set to true to abort the exchange
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// What the transport reports when no complete HTTP answer arrived.
struct TransportFailure {
  int curlCode = 0;  // a CURLcode
  std::string message;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Thread-safe: workers call it concurrently (a long poll next to a cancel).
  virtual Result<HttpResponse, TransportFailure> send(const HttpRequest& request) = 0;
};

}  // namespace kiosk::payments
