#pragma once
// The plain-HTTP listener of kiosk-cloud: httplib's server, with kept-alive connections that
// sleep in poll() until their next request instead of waking every 11 ms as httplib 0.11 does,
// and with each response leaving in one write.

#include <httplib.h>

namespace kiosk::cloud {

// Gives every answer the HTTP layer makes by itself (no such route, a body or target too long,
// a request that does not parse, an exception out of a handler) the API's error body with a
// stable code, keeping its status except that an exception is a 500 INTERNAL; the text of an
// exception goes to the log, never to the client.
void installErrorReplies(httplib::Server& server);

class KeepAliveServer final : public httplib::Server {
 public:
  KeepAliveServer();
  ~KeepAliveServer() override;
  KeepAliveServer(const KeepAliveServer&) = delete;
  KeepAliveServer& operator=(const KeepAliveServer&) = delete;

  // Wakes every connection waiting for its next request so that it closes; call before stop().
  void wakeIdleConnections();

 private:
  bool process_and_close_socket(socket_t sock) override;

  int m_wakeFd = -1;  // eventfd: readable once the server stops
};

}  // namespace kiosk::cloud
