#pragma once
// kiosk-cloud's service in one object: the database opened and migrated, the store, the card
// profile's format (vending and secure-messaging keys), the payment provider and the HTTP
// server bound to its port. kiosk-cloud's `serve` runs one in the foreground; the kiosk's
// simulator runs one on a thread of its own, on loopback.

#include <memory>
#include <string>
#include <thread>

#include "cloud/config.hpp"
#include "cloud/db.hpp"
#include "cloud/profile_format.hpp"
#include "cloud/providers.hpp"
#include "cloud/server.hpp"
#include "cloud/store.hpp"
#include "platform/clock.hpp"

namespace kiosk::cloud {

class EmbeddedCloud {
 public:
  // Resolves the config's secrets, opens and migrates the database, loads the keys (refusing
  // key files others can read) and binds the port. Throws std::runtime_error with the reason.
  // Without key files, write scripts and RETURN data are refused (logged).
  EmbeddedCloud(ServerConfig config, const platform::Clock& clock);
  ~EmbeddedCloud();
  EmbeddedCloud(const EmbeddedCloud&) = delete;
  EmbeddedCloud& operator=(const EmbeddedCloud&) = delete;

  // Serves in the calling thread until stop().
  void run();
  // Serves on a thread of its own; the destructor stops and joins it.
  void start();
  void stop();

  int port() const { return m_port; }
  // How this machine reaches the service: scheme://host:port.
  const std::string& localUrl() const { return m_localUrl; }
  const ServerConfig& config() const { return m_config; }
  Store& store() { return *m_store; }

 private:
  ServerConfig m_config;
  std::unique_ptr<Database> m_db;
  std::unique_ptr<Store> m_store;
  std::unique_ptr<ProfileFormat> m_format;
  std::unique_ptr<SimulatedProvider> m_provider;
  std::unique_ptr<Server> m_server;
  int m_port = 0;
  std::string m_localUrl;
  std::thread m_thread;
};

// Opens the configured database and applies the schema migrations (logged). Throws.
std::unique_ptr<Database> openAndMigrate(const ServerConfig& config);

}  // namespace kiosk::cloud
