#include "card/tool/card_tool.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <fstream>
#include <memory>
#include <ostream>

#include <nlohmann/json.hpp>

#include "card/card_reader.hpp"
#include "card/issuance.hpp"
#include "card/virtual_card.hpp"
#include "card/virtual_meter.hpp"
#include "card/write_script.hpp"
#include "platform/time_format.hpp"

// The PC/SC channel and the vpcd link live in card/pcsc and card/vpcd; a build without them
// still has every command that works on card files.
#if __has_include("card/pcsc/pcsc_channel.hpp")
#include "card/pcsc/pcsc_channel.hpp"
#define KIOSK_CARD_TOOL_PCSC 1
#endif
#if __has_include("card/vpcd/vpcd_link.hpp")
#include <pthread.h>

#include "card/vpcd/vpcd_link.hpp"
#define KIOSK_CARD_TOOL_VPCD 1
#endif

namespace kiosk::card::tool {

namespace {

bool writeText(const std::filesystem::path& file, const std::string& text, bool secret) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return false;
  if (secret) {
    std::error_code error;
    std::filesystem::permissions(file, std::filesystem::perms::owner_read |
                                           std::filesystem::perms::owner_write,
                                 error);
  }
  return true;
}

std::string isoTime(std::int64_t seconds) {
  return platform::formatTime(seconds, platform::kUtcZone, "%Y-%m-%dT%H:%M:%SZ");
}

// Zero-padded on the left to `width` digits.
std::string padded(std::uint64_t value, std::size_t width) {
  const std::string digits = std::to_string(value);
  return digits.size() >= width ? digits : std::string(width - digits.size(), '0') + digits;
}

std::string money(std::int64_t minor) {
  const bool negative = minor < 0;
  const std::uint64_t magnitude =
      negative ? static_cast<std::uint64_t>(-(minor + 1)) + 1 : static_cast<std::uint64_t>(minor);
  return (negative ? "-" : "") + std::to_string(magnitude / 100) + "." + padded(magnitude % 100, 2);
}

std::string units(std::uint64_t milli) {
  return std::to_string(milli / 1000) + "." + padded(milli % 1000, 3);
}

nlohmann::json tokenJson(const CreditToken& token, std::uint8_t record,
                         const std::optional<SymKey>& vending) {
  nlohmann::json item{{"record", record},
                      {"meter_number", token.meterNumber},
                      {"utility", toString(token.utility)},
                      {"sequence", token.sequence},
                      {"amount_minor", token.amount},
                      {"issued_at", isoTime(token.issuedAt)},
                      {"key_version", token.keyVersion},
                      {"mac", toHex(token.mac)}};
  if (vending) {
    item["mac_valid"] =
        verifyToken(token, deriveTokenKey(*vending, token.meterNumber, token.keyVersion));
  }
  return item;
}

nlohmann::json returnJson(const ReturnRecord& r, const std::optional<SymKey>& vending) {
  nlohmann::json item{{"meter_number", r.meterNumber},
                      {"utility", toString(r.utility)},
                      {"last_sequence", r.lastSequence},
                      {"remaining_credit_minor", r.remainingCredit},
                      {"consumption_milli", r.consumption},
                      {"timestamp", isoTime(r.timestamp)},
                      {"cut_off", r.cutOff()},
                      {"tamper", r.tamper()},
                      {"low_balance", r.lowBalance()},
                      {"alarm_level", r.alarmLevel},
                      {"mac", toHex(r.mac)}};
  if (vending) {
    item["mac_valid"] =
        verifyReturn(r, deriveReturnKey(*vending, r.meterNumber, r.keyVersion));
  }
  return item;
}

nlohmann::json paramsJson(const Params& p) {
  return {{"utility", toString(p.utility)},
          {"price_per_unit_minor", p.pricePerUnit},
          {"alarm_levels_minor", {p.alarmLevels[0], p.alarmLevels[1], p.alarmLevels[2]}},
          {"overdraft_limit_minor", p.overdraftLimit}};
}

nlohmann::json snapshotJson(const CardSnapshot& s, const std::optional<SymKey>& vending) {
  nlohmann::json doc{{"authentic", true},
                     {"apdus", s.apdus},
                     {"id",
                      {{"card_number", s.id.cardNumber},
                       {"kind", toString(s.id.kind)},
                       {"utility", toString(s.id.utility)},
                       {"meter_number", s.id.meterNumber},
                       {"account_number", s.id.accountNumber},
                       {"issuer_key_version", s.id.issuerKeyVersion},
                       {"card_public_key", toHex(s.id.cardPublicKey)}}},
                     {"free_records", s.freeRecords}};
  nlohmann::json credits = nlohmann::json::array();
  for (std::size_t i = 0; i < s.credits.size(); ++i) {
    credits.push_back(tokenJson(s.credits[i], s.creditRecords[i], vending));
  }
  doc["credits"] = std::move(credits);
  doc["return"] = s.meterReturn ? returnJson(*s.meterReturn, vending) : nlohmann::json(nullptr);
  if (s.params) doc["params"] = paramsJson(*s.params);
  return doc;
}

void printSnapshot(const nlohmann::json& doc, std::ostream& out) {
  const auto& id = doc["id"];
  out << "Card " << id["card_number"].get<std::uint64_t>() << " ("
      << id["kind"].get<std::string>() << ", " << id["utility"].get<std::string>()
      << ") authentic\n"
      << "  account " << id["account_number"].get<std::string>() << ", meter "
      << id["meter_number"].get<std::uint64_t>() << "\n"
      << "  read in " << doc["apdus"].get<std::size_t>() << " APDUs\n"
      << "  credit records: " << doc["credits"].size() << " pending, "
      << doc["free_records"].get<std::size_t>() << " free\n";
  for (const auto& t : doc["credits"]) {
    out << "    record " << t["record"].get<int>() << ": sequence "
        << t["sequence"].get<std::uint32_t>() << ", "
        << money(t["amount_minor"].get<std::int64_t>()) << ", issued "
        << t["issued_at"].get<std::string>();
    if (t.contains("mac_valid")) out << (t["mac_valid"].get<bool>() ? ", MAC ok" : ", MAC FORGED");
    out << "\n";
  }
  if (doc["return"].is_null()) {
    out << "  meter return: none yet\n";
  } else {
    const auto& r = doc["return"];
    out << "  meter return at " << r["timestamp"].get<std::string>() << ": credit "
        << money(r["remaining_credit_minor"].get<std::int64_t>()) << ", consumption "
        << units(r["consumption_milli"].get<std::uint64_t>()) << ", last sequence "
        << r["last_sequence"].get<std::uint32_t>() << ", alarm "
        << r["alarm_level"].get<int>() << (r["cut_off"].get<bool>() ? ", CUT OFF" : "")
        << (r["tamper"].get<bool>() ? ", TAMPER" : "");
    if (r.contains("mac_valid")) out << (r["mac_valid"].get<bool>() ? ", MAC ok" : ", MAC BAD");
    out << "\n";
  }
  if (doc.contains("params")) {
    const auto& p = doc["params"];
    out << "  tariff: " << money(p["price_per_unit_minor"].get<std::int64_t>())
        << " per unit, alarms " << money(p["alarm_levels_minor"][0].get<std::int64_t>()) << " / "
        << money(p["alarm_levels_minor"][1].get<std::int64_t>()) << " / "
        << money(p["alarm_levels_minor"][2].get<std::int64_t>()) << ", overdraft "
        << money(p["overdraft_limit_minor"].get<std::int64_t>()) << "\n";
  }
}

int cardErrorExit(CardError error, std::ostream& out) {
  out << "card error: " << describe(error) << "\n";
  switch (error) {
    case CardError::NotAuthentic: return kExitNotAuthentic;
    case CardError::NoService:
    case CardError::NoReader: return kExitUnavailable;
    default: return kExitCard;
  }
}

}  // namespace

// Where a PC/SC reader plugs into the tool: a channel to the card in `reader`.
Result<std::unique_ptr<CardChannel>, CardError> openReaderChannel(const std::string& reader) {
#ifdef KIOSK_CARD_TOOL_PCSC
  auto channel = PcscChannel::connect(reader);
  if (!channel) return fail(channel.error());
  return std::unique_ptr<CardChannel>(std::move(*channel));
#else
  (void)reader;
  return fail(CardError::NoService);
#endif
}

int runKeys(const KeysOptions& options, std::ostream& out) {
  std::error_code error;
  std::filesystem::create_directories(options.dir, error);
  if (error) {
    out << "cannot create " << options.dir << ": " << error.message() << "\n";
    return kExitInput;
  }
  for (const char* name : {kIssuerKeyFile, kIssuerPubFile, kSmMasterFile, kVendingFile}) {
    if (!options.force && std::filesystem::exists(options.dir / name)) {
      out << (options.dir / name).string() << " exists; use --force to replace the keys\n";
      return kExitInput;
    }
  }
  auto issuer = EcKey::generate();
  if (!issuer) return kExitInput;
  const bool ok = writeText(options.dir / kIssuerKeyFile, issuer->privatePem(), true) &&
                  writeText(options.dir / kIssuerPubFile, issuer->publicPem(), false) &&
                  saveSymKey(options.dir / kSmMasterFile, randomKey()) &&
                  saveSymKey(options.dir / kVendingFile, randomKey());
  if (!ok) {
    out << "cannot write the key files in " << options.dir << "\n";
    return kExitInput;
  }
  std::filesystem::permissions(options.dir / kSmMasterFile,
                               std::filesystem::perms::owner_read |
                                   std::filesystem::perms::owner_write,
                               error);
  std::filesystem::permissions(options.dir / kVendingFile,
                               std::filesystem::perms::owner_read |
                                   std::filesystem::perms::owner_write,
                               error);
  out << "demo keys written to " << options.dir.string() << ": " << kIssuerKeyFile << ", "
      << kIssuerPubFile << ", " << kSmMasterFile << ", " << kVendingFile << "\n";
  return kExitOk;
}

int runIssue(const IssueOptions& options, std::ostream& out) {
  auto issuer = EcKey::loadPem(options.keys / kIssuerKeyFile);
  auto sm = loadSymKey(options.keys / kSmMasterFile);
  if (!issuer || !issuer->hasPrivate() || !sm) {
    out << "cannot read " << kIssuerKeyFile << " and " << kSmMasterFile << " in "
        << options.keys.string() << "\n";
    return kExitInput;
  }
  const auto kind = cardKindFromString(options.kind);
  const auto utility = utilityFromString(options.utility);
  if (!kind || !utility) {
    out << "kind must be resident or staff, utility electricity or water\n";
    return kExitInput;
  }
  if (!options.force && std::filesystem::exists(options.out)) {
    out << options.out.string() << " exists; use --force to replace the card\n";
    return kExitInput;
  }
  IssueRequest request;
  request.cardNumber = options.cardNumber;
  request.kind = *kind;
  request.utility = *utility;
  request.meterNumber = options.meterNumber;
  request.accountNumber = options.account;
  request.issuerKeyVersion = options.issuerKeyVersion;
  request.params.utility = *utility;
  request.params.pricePerUnit = options.price;
  request.params.alarmLevels = {options.alarm1, options.alarm2, options.alarm3};
  request.params.overdraftLimit = options.overdraft;
  auto image = issueCard(request, *issuer, *sm);
  if (!image) {
    out << "cannot issue: card and meter numbers must be non-zero, the account 1 to 32 "
           "printable characters, the price non-zero and alarms falling (level 1 >= 2 >= 3)\n";
    return kExitInput;
  }
  if (!saveCardFile(options.out, *image)) {
    out << "cannot write " << options.out.string() << "\n";
    return kExitInput;
  }
  out << "issued card " << options.cardNumber << " for meter " << options.meterNumber
      << " into " << options.out.string() << "\n";
  return kExitOk;
}

int runTopup(const TopupOptions& options, std::ostream& out) {
  auto image = loadCardFile(options.cardFile);
  auto vending = loadSymKey(options.keys / kVendingFile);
  auto sm = loadSymKey(options.keys / kSmMasterFile);
  if (!image || !vending || !sm) {
    out << "cannot read the card file, or " << kVendingFile << " and " << kSmMasterFile
        << " in " << options.keys.string() << "\n";
    return kExitInput;
  }
  auto id = decodeIdFile(image->id);
  if (!id) {
    out << "the card's ID file does not parse\n";
    return kExitCard;
  }
  std::uint32_t sequence = 0;
  if (options.sequence) {
    sequence = *options.sequence;
  } else {
    // One above everything the card shows: pending tokens and the meter's last load.
    std::uint32_t highest = 0;
    if (auto last = decodeReturnFile(image->meterReturn); last && last->has_value()) {
      highest = (*last)->lastSequence;
    }
    for (const Bytes& record : image->credit) {
      if (auto token = decodeTokenRecord(record); token && token->has_value()) {
        highest = std::max(highest, (*token)->sequence);
      }
    }
    sequence = highest + 1;
  }
  CreditToken fields;
  fields.utility = id->utility;
  fields.keyVersion = options.keyVersion;
  fields.meterNumber = id->meterNumber;
  fields.sequence = sequence;
  fields.amount = options.amount;
  fields.issuedAt = static_cast<std::uint32_t>(options.issuedAt.value_or(
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count()));
  auto token = mintToken(*vending, fields);
  if (!token) {
    out << "the amount and the sequence must be at least 1\n";
    return kExitInput;
  }
  VirtualCard card(std::move(*image));
  LocalChannel channel(card);
  const EcKey noIssuer;  // the vending side writes; it does not need to verify the card
  CardReader reader(channel, noIssuer);
  // GET CHALLENGE needs the application selected.
  auto selected = channel.transmit(commands::selectAid());
  if (!selected) return cardErrorExit(selected.error(), out);
  auto challenge = reader.getChallenge();
  if (!challenge) return cardErrorExit(challenge.error(), out);
  auto script = buildCreditWriteScript(*sm, id->cardNumber, *challenge, *token,
                                       creditRecordFor(token->sequence));
  if (!script) return cardErrorExit(script.error(), out);
  if (auto written = reader.runScript(*script); !written) {
    return cardErrorExit(written.error(), out);
  }
  if (!saveCardFile(options.cardFile, card.image())) {
    out << "cannot write " << options.cardFile.string() << "\n";
    return kExitInput;
  }
  out << "token sequence " << sequence << " for " << money(options.amount) << " written to record "
      << int{creditRecordFor(sequence)} << "\n";
  return kExitOk;
}

int runDump(const DumpOptions& options, std::ostream& out) {
  auto issuer = EcKey::loadPem(options.keys / kIssuerPubFile);
  if (!issuer) {
    out << "cannot read " << (options.keys / kIssuerPubFile).string() << "\n";
    return kExitInput;
  }
  std::optional<SymKey> vending;
  if (auto key = loadSymKey(options.keys / kVendingFile)) vending = *key;

  std::unique_ptr<VirtualCard> virtualCard;
  std::unique_ptr<CardChannel> channel;
  if (options.cardFile) {
    auto image = loadCardFile(*options.cardFile);
    if (!image) {
      out << "cannot read card file " << options.cardFile->string() << "\n";
      return kExitInput;
    }
    virtualCard = std::make_unique<VirtualCard>(std::move(*image));
    channel = std::make_unique<LocalChannel>(*virtualCard);
  } else if (options.reader) {
    auto opened = openReaderChannel(*options.reader);
    if (!opened) {
#ifndef KIOSK_CARD_TOOL_PCSC
      out << "this build has no PC/SC reader support (card/pcsc)\n";
#endif
      return cardErrorExit(opened.error(), out);
    }
    channel = std::move(*opened);
  } else {
    out << "give --card FILE or --reader NAME\n";
    return kExitInput;
  }
  CardReader reader(*channel, *issuer);
  auto snapshot = reader.read({.readParams = options.params});
  if (!snapshot) return cardErrorExit(snapshot.error(), out);
  const nlohmann::json doc = snapshotJson(*snapshot, vending);
  if (options.json) {
    out << doc.dump(2) << "\n";
  } else {
    printSnapshot(doc, out);
  }
  return kExitOk;
}

int runServe(const ServeOptions& options, std::ostream& out) {
  auto image = loadCardFile(options.cardFile);
  if (!image) {
    out << "cannot read card file " << options.cardFile.string() << "\n";
    return kExitInput;
  }
#ifdef KIOSK_CARD_TOOL_VPCD
  // Signals are taken synchronously by this thread; the link's thread must not see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  VirtualCard card(std::move(*image));
  const std::filesystem::path file = options.cardFile;
  card.onCommit([file](const CardImage& changed) { (void)saveCardFile(file, changed); });
  VpcdLink::Options linkOptions;
  linkOptions.host = options.host;
  linkOptions.port = options.port;
  VpcdLink link(card, linkOptions);
  if (options.tearAt) {
    link.tearAt(*options.tearAt, options.tearAfter ? VpcdLink::TearPoint::AfterProcess
                                                   : VpcdLink::TearPoint::BeforeProcess);
  }
  link.insert();
  out << "serving " << options.cardFile.string() << " on vpcd " << options.host << ":"
      << options.port << " (Ctrl-C to pull the card)" << std::endl;
  const timespec tick{0, 200'000'000};
  while (sigtimedwait(&signals, nullptr, &tick) < 0) {
    if (options.tearAt && link.torn()) {
      out << "card pulled at APDU " << *options.tearAt << " as asked" << std::endl;
      break;
    }
  }
  link.pull();
  (void)saveCardFile(file, card.image());
  out << "card pulled; " << link.apdus() << " APDUs served" << std::endl;
  return kExitOk;
#else
  (void)options;
  out << "this build has no vpcd link (card/vpcd): cannot serve on vpcd\n";
  return kExitUnavailable;
#endif
}

int runMeter(const MeterOptions& options, std::ostream& out) {
  auto image = loadCardFile(options.cardFile);
  if (!image) {
    out << "cannot read card file " << options.cardFile.string() << "\n";
    return kExitInput;
  }
  auto vending = loadSymKey(options.keys / kVendingFile);
  if (!vending) {
    out << "cannot read " << (options.keys / kVendingFile).string() << "\n";
    return kExitInput;
  }
  auto id = decodeIdFile(image->id);
  if (!id) {
    out << "the card's ID file does not parse\n";
    return kExitCard;
  }
  auto last = decodeReturnFile(image->meterReturn);
  std::int64_t start = options.start.value_or(
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  VirtualMeter meter(
      MeterConfig::fromVendingKey(*vending, id->meterNumber, id->utility, options.keyVersion),
      start);
  if (last && last->has_value()) {
    if (meter.resume(**last)) {
      out << "meter " << id->meterNumber << " resumes from its last RETURN ("
          << isoTime((*last)->timestamp) << ")\n";
    } else {
      out << "the card's RETURN is not this meter's (or its MAC is bad): meter starts afresh\n";
    }
  }

  VirtualCard card(std::move(*image));
  auto visit = meter.insertCard(card);
  if (!visit) return cardErrorExit(visit.error(), out);
  for (const TokenOutcome& outcome : visit->tokens) {
    out << "token sequence " << outcome.token.sequence << " ("
        << money(outcome.token.amount) << "): " << toString(outcome.verdict) << "\n";
  }
  const auto printState = [&](const char* label) {
    const MeterState& s = meter.state();
    out << label << " " << isoTime(s.now) << ": credit " << money(s.credit) << ", consumption "
        << units(s.consumption) << ", alarm " << int{s.alarmLevel}
        << (s.cutOff ? ", SUPPLY CUT OFF" : ", supply on") << (s.tamper ? ", TAMPER" : "")
        << "\n";
  };
  printState("loaded ");
  for (std::uint32_t day = 1; day <= options.days; ++day) {
    // Hour by hour, so that the day's total is exactly what was asked for.
    for (std::uint64_t hour = 0; hour < 24; ++hour) {
      const std::uint64_t perDay = options.milliUnitsPerDay;
      meter.run(3600, perDay * (hour + 1) / 24 - perDay * hour / 24);
    }
    const std::string label = "day " + std::to_string(day);
    printState(label.c_str());
  }
  // The card goes back into the meter at the end, which writes its readings onto it.
  auto final = meter.insertCard(card);
  if (!final) return cardErrorExit(final.error(), out);
  if (!saveCardFile(options.cardFile, card.image())) {
    out << "cannot write " << options.cardFile.string() << "\n";
    return kExitInput;
  }
  out << "RETURN written to " << options.cardFile.string() << "\n";
  return kExitOk;
}

}  // namespace kiosk::card::tool
