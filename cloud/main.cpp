// kiosk-cloud: the cloud API service and central billing store. See docs/cloud.md.

#include "cloud/config.hpp"
#include "cloud/embedded.hpp"
#include "protocol/signing.hpp"
#include "cloud/profile_format.hpp"
#include "cloud/seed.hpp"
#include "platform/log.hpp"
#include "protocol/text.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <pthread.h>
#include <thread>
#include <fstream>
#include <iostream>

namespace {

int serve(const kiosk::cloud::ServerConfig& config) {
  // SIGTERM and SIGINT are taken by one thread that waits for them (stopping takes locks and
  // joins threads, which a signal handler may not); every thread started later blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  kiosk::platform::SystemClock clock;
  kiosk::cloud::EmbeddedCloud cloud(config, clock);
  spdlog::info("kiosk-cloud listening on {}", cloud.localUrl());
  std::atomic<bool> served{false};
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    if (!served) spdlog::info("kiosk-cloud stopping: answering requests under way");
    cloud.stop();
  });
  try {
    cloud.run();
  } catch (...) {
    served = true;
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
    throw;
  }
  served = true;
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  spdlog::info("kiosk-cloud stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kiosk::cloud;
  CLI::App app{"kiosk-cloud: cloud API and central billing store for the recharge kiosks"};
  ServerConfig config;
  std::string configFile;
  ServerConfig overrides;
  app.add_option("-c,--config", configFile, "JSON configuration file (see docs/cloud.md)");
  app.add_option("--listen", overrides.listen, "address to listen on");
  app.add_option("--port", overrides.port, "port (0: any free port)");
  app.add_option("--database", overrides.database, "sqlite:///path or postgresql://...");
  app.add_option("--tls-cert", overrides.tlsCert, "TLS certificate (PEM)");
  app.add_option("--tls-key", overrides.tlsKey, "TLS private key (PEM)");
  app.add_option("--public-url", overrides.publicUrl, "base URL of QR links");
  app.add_option("--port-file", overrides.portFile, "write the bound port to this file");
  app.add_option("--log-level", overrides.logLevel, "trace, debug, info, warn, error");
  app.require_subcommand(0, 1);

  auto* migrateCmd = app.add_subcommand("migrate", "apply schema migrations and exit");
  auto* seedCmd = app.add_subcommand("seed-demo", "load demo tariffs, accounts, cards and a kiosk");
  std::string seedSecret;
  seedCmd->add_option("--kiosk-secret", seedSecret, "secret of the demo kiosk (default: random)");
  auto* issueCmd = app.add_subcommand("issue-card", "write card files for the virtual card");
  std::string cardNumber;
  std::string outDir;
  issueCmd->add_option("--card", cardNumber, "card number (must exist in the store)")->required();
  issueCmd->add_option("--out", outDir, "folder for the card files")->required();

  auto* renameCmd = app.add_subcommand(
      "rename-id", "give a kiosk, account, tariff, staff member or fee a new id (ids from before the "
                   "id rule, listed by migrate); what refers to it follows");
  std::string renameTable;
  std::string renameFrom;
  std::string renameTo;
  renameCmd->add_option("table", renameTable, "kiosks, accounts, tariffs, staff or fees")->required();
  renameCmd->add_option("from", renameFrom, "the id now")->required();
  renameCmd->add_option("to", renameTo, "the new id: 1 to 64 of A-Z a-z 0-9 _ . -")->required();

  CLI11_PARSE(app, argc, argv);
  try {
    if (!configFile.empty()) loadConfigFile(configFile, config);
    // Command-line values win over the file where given.
    const ServerConfig defaults;
    if (overrides.listen != defaults.listen) config.listen = overrides.listen;
    if (app.count("--port") > 0) config.port = overrides.port;
    if (overrides.database != defaults.database) config.database = overrides.database;
    if (!overrides.tlsCert.empty()) config.tlsCert = overrides.tlsCert;
    if (!overrides.tlsKey.empty()) config.tlsKey = overrides.tlsKey;
    if (!overrides.publicUrl.empty()) config.publicUrl = overrides.publicUrl;
    if (!overrides.portFile.empty()) config.portFile = overrides.portFile;
    if (overrides.logLevel != defaults.logLevel) config.logLevel = overrides.logLevel;
    kiosk::platform::initLogging({config.logLevel, config.logFile, "kiosk-cloud"});

    if (*migrateCmd) {
      auto db = openAndMigrate(config);
      Store store(*db);
      auto outside = store.idsOutsideRule();
      if (!outside) throw std::runtime_error("cannot read the ids: " + outside.error().message);
      for (const auto& [table, id] : *outside) {
        spdlog::warn("{} id \"{}\" does not follow the id rule (1 to 64 of A-Z a-z 0-9 _ . -): its routes "
                     "cannot address it; give it a new id with: kiosk-cloud rename-id {} '{}' NEW_ID",
                     table, kiosk::protocol::forLog(id), table, kiosk::protocol::forLog(id));
      }
      if (!outside->empty()) {
        std::cout << outside->size() << " ids do not follow the id rule (see the log above)\n";
      }
      return 0;
    }
    if (*renameCmd) {
      auto db = openAndMigrate(config);
      Store store(*db);
      auto renamed = store.renameId(renameTable, renameFrom, renameTo);
      if (!renamed) throw std::runtime_error("rename-id failed: " + renamed.error().message);
      spdlog::info("{} {} is now {}; a renamed kiosk must be given its new id", renameTable,
                   kiosk::protocol::forLog(renameFrom), renameTo);
      return 0;
    }
    if (*seedCmd) {
      auto db = openAndMigrate(config);
      Store store(*db);
      auto seeded = seedDemo(store, seedSecret.empty() ? kiosk::protocol::randomHex(32) : seedSecret,
                             kiosk::platform::SystemClock{}.unixSeconds());
      if (!seeded) throw std::runtime_error("seeding failed: " + seeded.error().message);
      std::cout << seeded->dump(2) << "\n";
      return 0;
    }
    if (*issueCmd) {
      auto db = openAndMigrate(config);
      Store store(*db);
      auto issued = issueCardFiles(store, config, cardNumber, outDir);
      if (!issued) throw std::runtime_error("issue-card failed: " + issued.error().message);
      std::cout << issued->dump(2) << "\n";
      return 0;
    }
    return serve(config);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    std::cerr << "kiosk-cloud: " << e.what() << "\n";
    return 1;
  }
}
