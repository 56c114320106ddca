#pragma once
// An in-process Transport for unit tests: answers from handlers keyed by method and path
// prefix, and keeps every request it saw.

#include <curl/curl.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "payments/transport.hpp"

namespace kiosk::payments::test {

class FakeTransport final : public Transport {
 public:
  using Handler = std::function<Result<HttpResponse, TransportFailure>(const HttpRequest&)>;

  // The last matching route wins, so a test can override a default.
  void on(std::string method, std::string pathPrefix, Handler handler) {
    std::lock_guard lock(m_mutex);
    m_routes.push_back({std::move(method), std::move(pathPrefix), std::move(handler)});
  }
  void reply(std::string method, std::string pathPrefix, long status, std::string body) {
    on(std::move(method), std::move(pathPrefix),
       [status, body](const HttpRequest&) -> Result<HttpResponse, TransportFailure> {
         return HttpResponse{status, {}, body};
       });
  }
  void failWith(std::string method, std::string pathPrefix, CURLcode code) {
    on(std::move(method), std::move(pathPrefix),
       [code](const HttpRequest&) -> Result<HttpResponse, TransportFailure> {
         return fail(TransportFailure{static_cast<int>(code), curl_easy_strerror(code)});
       });
  }

  Result<HttpResponse, TransportFailure> send(const HttpRequest& request) override {
    Handler handler;
    {
      std::lock_guard lock(m_mutex);
      m_requests.push_back(request);
      for (auto it = m_routes.rbegin(); it != m_routes.rend(); ++it) {
        if (it->method == request.method && request.target.starts_with(it->prefix)) {
          handler = it->handler;
          break;
        }
      }
    }
    if (!handler) return fail(TransportFailure{CURLE_COULDNT_CONNECT, "no route in fake"});
    return handler(request);
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }
  std::size_t count(const std::string& method, const std::string& prefix) const {
    std::lock_guard lock(m_mutex);
    std::size_t n = 0;
    for (const auto& r : m_requests) {
      if (r.method == method && r.target.starts_with(prefix)) ++n;
    }
    return n;
  }

 private:
  struct Route {
    std::string method;
    std::string prefix;
    Handler handler;
  };
  mutable std::mutex m_mutex;
  std::vector<Route> m_routes;
  std::vector<HttpRequest> m_requests;
};

}  // namespace kiosk::payments::test
