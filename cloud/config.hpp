#pragma once
// kiosk-cloud's settings: read from a JSON file (docs/cloud.md lists every key), then
// overridden by command-line options.

#include <cstdint>
#include <string>

namespace kiosk::cloud {

struct ServerConfig {
  std::string listen = "127.0.0.1";  // plain HTTP only on loopback; TLS anywhere
  int port = 8080;                   // 0: any free port (printed at start)
  std::string tlsCert;               // PEM files; both or neither
  std::string tlsKey;
  std::string publicUrl;             // base of QR URLs; default: from listen address and port
  std::string database = "sqlite:///var/lib/kiosk-cloud/cloud.sqlite";
  int dbPool = 16;                   // PostgreSQL connections per process
  int threads = 64;                  // request handler threads (parked long polls hold none)
  std::string adminToken;            // operator bearer token (or adminTokenFile)
  std::string adminTokenFile;
  std::string vendingKeyFile;        // 16-byte AES key; must be readable by this user only
  std::string smMasterKeyFile;       // secure-messaging master key, same rule
  std::string issuerKeyFile;         // issuer ECDSA private key (PEM), for issue-card
  std::string providerSecret;        // simulated provider's webhook HMAC secret
  std::string providerSecretFile;
  std::int64_t minAmount = 100;      // minor units
  std::int64_t maxAmount = 100000;
  std::int64_t orderTtlSeconds = 300;
  // The property's service contact and time zone, for every kiosk that has none of its own:
  // shown on the kiosks' error screens; every time a person reads is in the zone.
  std::string servicePhone;
  std::string serviceHours;
  std::string timeZone;              // IANA; empty: times are shown in UTC (and say so)
  std::int64_t maxSkewSeconds = 300;
  std::int64_t maxLongPollSeconds = 30;
  int requestReadTimeoutSeconds = 15;  // a whole request (and a TLS handshake) must arrive by then
  int maxConnectionsPerAddress = 256;  // open connections from one client address
  int maxConnections = 10000;          // open connections in all
  int sweepIntervalMs = 2000;
  std::string logLevel = "info";
  std::string logFile;
  std::string portFile;              // if set, the bound port is written here at start
};

// Reads the JSON config file; throws std::runtime_error with the file and key on errors.
void loadConfigFile(const std::string& path, ServerConfig& config);
// Reads secrets from their files where given; throws when a required one is missing.
void resolveSecrets(ServerConfig& config);
// Throws std::runtime_error unless the file is owned by this user and not readable by group
// or others (mode 0600 or stricter).
void checkPrivateFile(const std::string& path);
bool isLoopback(const std::string& host);

}  // namespace kiosk::cloud
