#pragma once
// kiosk-cloud's HTTP side: the signed kiosk API, the payment webhook and pay page, the operator
// API, /healthz and /metrics, and the background sweeper (order expiry, refunds, old nonces).
// Implemented across server*.cpp, one file per part (see server_impl.hpp).

#include "cloud/card_format.hpp"
#include "cloud/config.hpp"
#include "cloud/providers.hpp"
#include "cloud/store.hpp"
#include "platform/clock.hpp"

#include <memory>

namespace kiosk::cloud {

class Server {
 public:
  // `format` may be null: then token and RETURN endpoints answer CARD_FORMAT.
  // The pay page is served when `provider` is the simulated one.
  Server(const ServerConfig& config, Store& store, CardFormat* format, PaymentProvider& provider,
         const platform::Clock& clock);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket. Throws std::runtime_error when plain HTTP is asked for on a
  // non-loopback address, or when the address cannot be bound. Returns the port.
  int bind();
  // Serves until stop(); runs the sweeper alongside.
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace kiosk::cloud
