#pragma once
// The commands of kiosk-card, callable without the command line (the tool's tests run them
// in-process). Each returns the process exit code and writes its report to `out`.

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include <memory>

#include "card/channel.hpp"
#include "card/profile.hpp"

namespace kiosk::card::tool {

// Exit codes: 0 ok, 1 usage or input error, 2 card error (foreign card, removed...),
// 3 the card is not authentic, 4 the reader or the PC/SC service is not available.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInput = 1;
inline constexpr int kExitCard = 2;
inline constexpr int kExitNotAuthentic = 3;
inline constexpr int kExitUnavailable = 4;

// Files in a key folder (see docs/card-profile.md, "Key files").
inline constexpr const char* kIssuerKeyFile = "issuer.key.pem";
inline constexpr const char* kIssuerPubFile = "issuer.pub.pem";
inline constexpr const char* kSmMasterFile = "sm-master.key";
inline constexpr const char* kVendingFile = "vending.key";

// Where a PC/SC reader plugs in: a channel to the card in `reader` (card/pcsc's PcscChannel
// when the build has it; NoService otherwise).
Result<std::unique_ptr<CardChannel>, CardError> openReaderChannel(const std::string& reader);

struct KeysOptions {
  std::filesystem::path dir;
  bool force = false;
};
int runKeys(const KeysOptions& options, std::ostream& out);

struct IssueOptions {
  std::filesystem::path keys;  // folder with issuer.key.pem and sm-master.key
  std::filesystem::path out;
  std::uint64_t cardNumber = 0;
  std::string kind = "resident";
  std::string utility = "electricity";
  std::uint64_t meterNumber = 0;
  std::string account;
  std::uint32_t price = 60;
  std::uint32_t alarm1 = 2000;
  std::uint32_t alarm2 = 1000;
  std::uint32_t alarm3 = 500;
  std::uint32_t overdraft = 0;
  std::uint8_t issuerKeyVersion = 1;
  bool force = false;
};
int runIssue(const IssueOptions& options, std::ostream& out);

// Acts as the vending side for tests and demos: mints a token with vending.key and writes it
// with sm-master.key through the same secure-messaging script the cloud would build.
struct TopupOptions {
  std::filesystem::path cardFile;
  std::filesystem::path keys;  // vending.key and sm-master.key
  std::uint32_t amount = 0;    // minor units
  std::optional<std::uint32_t> sequence;  // default: one above any seen on the card
  std::optional<std::int64_t> issuedAt;   // Unix seconds; default now
  std::uint8_t keyVersion = 1;
};
int runTopup(const TopupOptions& options, std::ostream& out);

struct DumpOptions {
  std::filesystem::path keys;         // issuer.pub.pem (required); vending.key (optional)
  std::optional<std::filesystem::path> cardFile;
  std::optional<std::string> reader;  // a PC/SC reader name
  bool params = false;
  bool json = false;
};
int runDump(const DumpOptions& options, std::ostream& out);

struct ServeOptions {
  std::filesystem::path cardFile;
  std::string host = "127.0.0.1";
  std::uint16_t port = 35963;
  std::optional<std::uint64_t> tearAt;  // APDU index at which to pull the card
  bool tearAfter = false;               // after the card processed it (else before)
};
int runServe(const ServeOptions& options, std::ostream& out);

struct MeterOptions {
  std::filesystem::path cardFile;
  std::filesystem::path keys;  // vending.key
  std::uint32_t days = 1;
  std::uint64_t milliUnitsPerDay = 8000;  // 8 kWh (or 8 m3) a day
  std::optional<std::int64_t> start;      // Unix seconds; default: RETURN's time or now
  std::uint8_t keyVersion = 1;
};
int runMeter(const MeterOptions& options, std::ostream& out);

}  // namespace kiosk::card::tool
