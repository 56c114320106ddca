#pragma once
// The listener of kiosk-cloud (plain HTTP or HTTPS): httplib's server, with kept-alive
// connections that sleep in poll() until their next request instead of waking every 11 ms as
// httplib 0.11 does, each response leaving in one write, and a deadline for a whole request.

#include <httplib.h>

#include <chrono>
#include <string>

namespace kiosk::cloud {

// Gives every answer the HTTP layer makes by itself (no such route, a body or target too long,
// a request that does not parse, an exception out of a handler) the API's error body with a
// stable code, keeping its status except that an exception is a 500 INTERNAL; the text of an
// exception goes to the log, never to the client.
void installErrorReplies(httplib::Server& server);

class KeepAliveServer final : public httplib::Server {
 public:
  // Plain HTTP.
  KeepAliveServer();
  // HTTPS only, with this certificate chain and private key (PEM files); throws
  // std::runtime_error when they do not load.
  KeepAliveServer(const std::string& certFile, const std::string& keyFile);
  ~KeepAliveServer() override;
  KeepAliveServer(const KeepAliveServer&) = delete;
  KeepAliveServer& operator=(const KeepAliveServer&) = delete;

  // Wakes every connection waiting for its next request so that it closes; call before stop().
  void wakeIdleConnections();

  // The longest a request may take to arrive whole (request line, headers and body; a new
  // connection's TLS handshake too), however steadily its bytes come: a client that sends a
  // byte now and then holds a worker thread no longer than this. The answer has no such limit:
  // a long poll waits as long as it asked.
  void setRequestReadTimeout(std::chrono::milliseconds timeout) { m_requestReadTimeout = timeout; }

 private:
  bool process_and_close_socket(socket_t sock) override;

  int m_wakeFd = -1;  // eventfd: readable once the server stops
  SSL_CTX* m_tls = nullptr;
  std::chrono::milliseconds m_requestReadTimeout{15000};
};

}  // namespace kiosk::cloud
