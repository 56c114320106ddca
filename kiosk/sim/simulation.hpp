#pragma once
// Simulation mode: everything a kiosk talks to, in process and on loopback, so the real kiosk
// runs with no hardware and no internet. The embedded cloud is kiosk-cloud's own code (SQLite
// in the state folder, seeded with demo accounts, meters, tariffs and cards); a network link
// between kiosk and cloud can be cut; demo cards (normal, low balance, water, blocked, staff,
// foreign, damaged) go into a virtual reader (in process, or served on vpcd to real pcscd);
// each card's meter loads tokens and consumes; time can be moved forward for kiosk and cloud.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kiosk/runtime.hpp"
#include "platform/result.hpp"

namespace kiosk::sim {

struct SimulationOptions {
  std::filesystem::path stateDir;  // cloud database, keys, card files, journal
  // Serve the cards on vpcd and read them through pcscd, instead of an in-process reader.
  bool pcsc = false;
  std::string vpcdHost = "127.0.0.1";
  std::uint16_t vpcdPort = 35963;
  std::string reader;  // PC/SC reader name (pcsc only); empty: the first one
};

struct DemoCard {
  std::string key;       // "normal", "low", "water", "blocked", "staff", "foreign", "damaged"
  std::string number;    // the card number printed on it (empty for a foreign card)
  std::filesystem::path file;  // its card file (none for a foreign card)
};

// What the meter did with a card: tokens loaded, and its reading after consuming.
struct MeterReport {
  int tokensLoaded = 0;
  std::int64_t loadedMinor = 0;
  std::int64_t remainingMinor = 0;
  std::uint64_t consumptionMilli = 0;
  bool cutOff = false;
};

class Simulation {
 public:
  // Creates (or reopens) the state folder and starts the embedded cloud. Errors are described.
  static Result<std::unique_ptr<Simulation>, std::string> create(SimulationOptions options);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // How the kiosk runtime reaches this world: cloud URL (through the cuttable link), kiosk id
  // and secret, issuer key, journal in the state folder, the reader and the shared clock.
  app::RuntimeOptions runtimeOptions() const;
  // The runtime the cards are reported to (in-process reader only; pcscd reports its own).
  void attach(app::Runtime* runtime);

  const std::vector<DemoCard>& cards() const;
  // Puts a demo card into the kiosk's reader (pulling any other first); "" or what failed.
  std::string insert(const std::string& key);
  void pull();
  std::optional<std::string> inserted() const;

  // The resident's phone on the order's pay page: pay or decline. "" or what failed.
  std::string answer(const std::string& payUrl, bool pay) const;

  void setNetworkUp(bool up);
  bool networkUp() const;

  // Moves kiosk and cloud time forward (order expiry, meter days, the clock on screen).
  void advance(std::chrono::seconds by);
  std::chrono::seconds timeOffset() const;
  const platform::Clock& clock() const;

  // Takes the card out of the kiosk if needed, puts it into its meter (tokens loaded, RETURN
  // written), lets the household use `days` of supply, and writes RETURN again.
  Result<MeterReport, std::string> useInMeter(const std::string& key, int days);

  int cloudPort() const;
  std::string kioskId() const;

 private:
  struct Impl;
  explicit Simulation(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace kiosk::sim
