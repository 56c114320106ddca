#include "cloud/embedded.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <stdexcept>

#include "cloud/schema.hpp"

namespace kiosk::cloud {

std::unique_ptr<Database> openAndMigrate(const ServerConfig& config) {
  auto db = openDatabase(config.database, config.dbPool);
  auto version = migrate(*db);
  if (!version) throw std::runtime_error("migration failed: " + version.error().message);
  spdlog::info("database ready, schema version {}", *version);
  return db;
}

EmbeddedCloud::EmbeddedCloud(ServerConfig config, const platform::Clock& clock)
    : m_config(std::move(config)) {
  resolveSecrets(m_config);
  if (!m_config.vendingKeyFile.empty() || !m_config.smMasterKeyFile.empty()) {
    // The keys that mint credit: refuse to start if anyone else could read them.
    m_format = ProfileFormat::load(m_config.vendingKeyFile, m_config.smMasterKeyFile);
  } else {
    spdlog::warn("no vending key configured: write scripts and RETURN data are refused");
  }
  m_db = openAndMigrate(m_config);
  m_store = std::make_unique<Store>(*m_db);
  m_provider = std::make_unique<SimulatedProvider>("", "", m_config.providerSecret);
  m_server = std::make_unique<Server>(m_config, *m_store, m_format.get(), *m_provider, clock);
  m_port = m_server->bind();
  const std::string scheme = m_config.tlsCert.empty() ? "http" : "https";
  const std::string host = m_config.listen.find(':') != std::string::npos
                               ? "[" + m_config.listen + "]"
                               : m_config.listen;
  m_localUrl = scheme + "://" + (host == "0.0.0.0" ? "127.0.0.1" : host) + ":" + std::to_string(m_port);
  m_provider->setUrls(m_config.publicUrl.empty() ? m_localUrl : m_config.publicUrl,
                      m_localUrl + "/v1/payments/sim/notify");
  if (!m_config.portFile.empty()) {
    std::ofstream(m_config.portFile) << m_port << "\n";
  }
}

EmbeddedCloud::~EmbeddedCloud() {
  if (m_thread.joinable()) {
    m_server->stop();
    m_thread.join();
  }
}

void EmbeddedCloud::run() { m_server->run(); }

void EmbeddedCloud::start() {
  m_thread = std::thread([this] { m_server->run(); });
}

void EmbeddedCloud::stop() { m_server->stop(); }

}  // namespace kiosk::cloud
