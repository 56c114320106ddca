#include "platform/time_format.hpp"
#include "cloud/config.hpp"

#include "protocol/limits.hpp"

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kiosk::cloud {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

void loadConfigFile(const std::string& path, ServerConfig& c) {
  const auto doc = nlohmann::json::parse(readFile(path), nullptr, false, true);
  if (doc.is_discarded() || !doc.is_object()) {
    throw std::runtime_error(path + ": not a JSON object");
  }
  for (const auto& item : doc.items()) {
    // Named references, not a structured binding: the lambdas below capture them.
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    auto text = [&](std::string& out) {
      if (!value.is_string()) throw std::runtime_error(path + ": " + key + " must be a string");
      out = value.get<std::string>();
    };
    auto integer = [&](auto& out) {
      if (!value.is_number_integer()) throw std::runtime_error(path + ": " + key + " must be an integer");
      out = value.get<std::remove_reference_t<decltype(out)>>();
    };
    if (key == "listen") text(c.listen);
    else if (key == "port") integer(c.port);
    else if (key == "tls_cert") text(c.tlsCert);
    else if (key == "tls_key") text(c.tlsKey);
    else if (key == "public_url") text(c.publicUrl);
    else if (key == "database") text(c.database);
    else if (key == "db_pool") integer(c.dbPool);
    else if (key == "threads") integer(c.threads);
    else if (key == "admin_token") text(c.adminToken);
    else if (key == "admin_token_file") text(c.adminTokenFile);
    else if (key == "vending_key_file") text(c.vendingKeyFile);
    else if (key == "sm_master_key_file") text(c.smMasterKeyFile);
    else if (key == "issuer_key_file") text(c.issuerKeyFile);
    else if (key == "provider_secret") text(c.providerSecret);
    else if (key == "provider_secret_file") text(c.providerSecretFile);
    else if (key == "min_amount") integer(c.minAmount);
    else if (key == "max_amount") integer(c.maxAmount);
    else if (key == "order_ttl_seconds") integer(c.orderTtlSeconds);
    else if (key == "max_skew_seconds") integer(c.maxSkewSeconds);
    else if (key == "max_long_poll_seconds") integer(c.maxLongPollSeconds);
    else if (key == "request_read_timeout_seconds") integer(c.requestReadTimeoutSeconds);
    else if (key == "max_connections_per_address") integer(c.maxConnectionsPerAddress);
    else if (key == "max_connections") integer(c.maxConnections);
    else if (key == "sweep_interval_ms") integer(c.sweepIntervalMs);
    else if (key == "service_phone") text(c.servicePhone);
    else if (key == "service_hours") text(c.serviceHours);
    else if (key == "time_zone") text(c.timeZone);
    else if (key == "log_level") text(c.logLevel);
    else if (key == "log_file") text(c.logFile);
    else throw std::runtime_error(path + ": unknown key " + key);
  }
}

void checkPrivateFile(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) throw std::runtime_error("cannot stat " + path);
  if (info.st_uid != ::geteuid()) {
    throw std::runtime_error(path + " must be owned by the user that runs kiosk-cloud");
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    throw std::runtime_error(path + " is readable by others: chmod 600 it");
  }
}

void resolveSecrets(ServerConfig& c) {
  if (!c.adminTokenFile.empty()) {
    checkPrivateFile(c.adminTokenFile);
    c.adminToken = trimmed(readFile(c.adminTokenFile));
  }
  if (!c.providerSecretFile.empty()) {
    checkPrivateFile(c.providerSecretFile);
    c.providerSecret = trimmed(readFile(c.providerSecretFile));
  }
  if (c.adminToken.size() < 16) throw std::runtime_error("admin token missing or shorter than 16");
  if (c.providerSecret.size() < 16) {
    throw std::runtime_error("provider secret missing or shorter than 16");
  }
  if (c.tlsCert.empty() != c.tlsKey.empty()) {
    throw std::runtime_error("give both tls_cert and tls_key, or neither");
  }
  if (c.maxConnectionsPerAddress < 1 || c.maxConnections < c.maxConnectionsPerAddress) {
    throw std::runtime_error("max_connections_per_address must be 1 or more, and max_connections no fewer");
  }
  if (c.requestReadTimeoutSeconds < 1) {
    throw std::runtime_error("request_read_timeout_seconds must be 1 or more");
  }
  if (!c.timeZone.empty() && !platform::knownZone(c.timeZone)) {
    throw std::runtime_error("time_zone \"" + c.timeZone + "\" is not in the time zone database");
  }
  if (c.servicePhone.size() > protocol::limits::kMaxServiceTextLength ||
      c.serviceHours.size() > protocol::limits::kMaxServiceTextLength) {
    throw std::runtime_error("service_phone and service_hours take up to " +
                             std::to_string(protocol::limits::kMaxServiceTextLength) + " bytes");
  }
  // Kiosks read amount limits up to limits::kMaxMoney.
  if (c.minAmount < 1 || c.maxAmount < c.minAmount || c.maxAmount > protocol::limits::kMaxMoney) {
    throw std::runtime_error("need 1 <= min_amount <= max_amount <= " +
                             std::to_string(protocol::limits::kMaxMoney));
  }
}

bool isLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.starts_with("127.");
}

}  // namespace kiosk::cloud
