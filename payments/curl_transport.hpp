#pragma once
// Transport on libcurl: connections, TLS sessions and DNS answers are shared between the
// workers' requests (CURLSH) and easy handles are pooled, so a kiosk keeps its connection to
// the cloud open. TLS peer and host verification are always on; the cloud's public key can be
// pinned. Plain http:// is accepted only for a loopback cloud (simulation, tests).

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "payments/transport.hpp"

namespace kiosk::payments {

struct CurlOptions {
  std::string baseUrl;  // "https://cloud.example.com:8443" (no trailing path)
  std::chrono::milliseconds connectTimeout{3000};
  std::chrono::milliseconds totalTimeout{15000};
  std::string caFile;           // PEM bundle; empty: the system's store
  std::string pinnedPublicKey;  // "sha256//BASE64[;sha256//...]" or a PEM/DER key file
  std::size_t maxResponseBytes = 1 << 20;
};

class CurlTransport final : public Transport {
 public:
  // Checks the URL: https, or http on 127.0.0.1 / ::1 / localhost. The error says why not.
  static Result<std::unique_ptr<CurlTransport>, std::string> create(CurlOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Result<HttpResponse, TransportFailure> send(const HttpRequest& request) override;
  const CurlOptions& options() const { return m_options; }

 private:
  struct Share;
  explicit CurlTransport(CurlOptions options);
  void* acquire();
  void release(void* handle);

  CurlOptions m_options;
  std::unique_ptr<Share> m_share;
  std::mutex m_poolMutex;
  std::vector<void*> m_pool;  // idle CURL easy handles, each keeping its connection cache
};

}  // namespace kiosk::payments
