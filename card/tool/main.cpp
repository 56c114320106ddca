// kiosk-card: issue, inspect, serve and meter cards of the open profile (staff and tests).

#include <CLI/CLI.hpp>

#include <iostream>

#include "card/tool/card_tool.hpp"

int main(int argc, char** argv) {
  using namespace kiosk::card::tool;
  CLI::App app{"kiosk-card: cards of the open prepaid utility card profile"};
  app.require_subcommand(1);

  KeysOptions keys;
  auto* keysCmd = app.add_subcommand("keys", "Generate demo issuer, SM master and vending keys");
  keysCmd->add_option("dir", keys.dir, "Folder for the key files")->required();
  keysCmd->add_flag("--force", keys.force, "Replace existing keys");

  IssueOptions issue;
  auto* issueCmd = app.add_subcommand("issue", "Personalise a card into a card file");
  issueCmd->add_option("--keys", issue.keys, "Key folder (issuer.key.pem, sm-master.key)")
      ->required();
  issueCmd->add_option("--out,-o", issue.out, "Card file to write")->required();
  issueCmd->add_option("--card-number", issue.cardNumber, "Card number")->required();
  issueCmd->add_option("--kind", issue.kind, "resident or staff")->capture_default_str();
  issueCmd->add_option("--utility", issue.utility, "electricity or water")->capture_default_str();
  issueCmd->add_option("--meter", issue.meterNumber, "Meter number")->required();
  issueCmd->add_option("--account", issue.account, "Account number")->required();
  issueCmd->add_option("--price", issue.price, "Price per kWh or m3, minor units")
      ->capture_default_str();
  issueCmd->add_option("--alarm1", issue.alarm1, "Alarm level 1, minor units")
      ->capture_default_str();
  issueCmd->add_option("--alarm2", issue.alarm2, "Alarm level 2, minor units")
      ->capture_default_str();
  issueCmd->add_option("--alarm3", issue.alarm3, "Alarm level 3, minor units")
      ->capture_default_str();
  issueCmd->add_option("--overdraft", issue.overdraft, "Overdraft limit, minor units")
      ->capture_default_str();
  issueCmd->add_option("--issuer-key-version", issue.issuerKeyVersion)->capture_default_str();
  issueCmd->add_flag("--force", issue.force, "Replace an existing card file");

  TopupOptions topup;
  std::uint32_t topupSequence = 0;
  std::int64_t topupTime = 0;
  auto* topupCmd =
      app.add_subcommand("topup", "Mint a credit token and write it onto a card file");
  topupCmd->add_option("card", topup.cardFile, "Card file")->required();
  topupCmd->add_option("--keys", topup.keys, "Key folder (vending.key, sm-master.key)")
      ->required();
  topupCmd->add_option("--amount", topup.amount, "Amount in minor units")->required();
  auto* sequenceOpt = topupCmd->add_option("--sequence", topupSequence, "Token sequence");
  auto* timeOpt = topupCmd->add_option("--issued-at", topupTime, "Issue time, Unix seconds");

  DumpOptions dump;
  std::string dumpCard;
  std::string dumpReader;
  auto* dumpCmd = app.add_subcommand("dump", "Read and verify a card (card file or PC/SC reader)");
  dumpCmd->add_option("--keys", dump.keys, "Key folder (issuer.pub.pem; vending.key optional)")
      ->required();
  auto* cardOpt = dumpCmd->add_option("--card", dumpCard, "Card file");
  auto* readerOpt = dumpCmd->add_option("--reader", dumpReader, "PC/SC reader name");
  cardOpt->excludes(readerOpt);
  dumpCmd->add_flag("--params", dump.params, "Also read PARAMS (a sixth APDU)");
  dumpCmd->add_flag("--json", dump.json, "Print JSON");

  ServeOptions serve;
  std::uint64_t tearAt = 0;
  std::string tearWhen = "before";
  auto* serveCmd = app.add_subcommand("serve", "Serve a card file in vpcd's virtual reader");
  serveCmd->add_option("card", serve.cardFile, "Card file")->required();
  serveCmd->add_option("--host", serve.host)->capture_default_str();
  serveCmd->add_option("--port", serve.port, "vpcd port (35963 slot 0, 35964 slot 1)")
      ->capture_default_str();
  auto* tearOpt = serveCmd->add_option("--tear-at", tearAt, "Pull the card at APDU index N");
  serveCmd->add_option("--tear", tearWhen, "before or after the card processes it")
      ->check(CLI::IsMember({"before", "after"}))
      ->capture_default_str();

  MeterOptions meter;
  std::int64_t start = 0;
  auto* meterCmd = app.add_subcommand("meter", "Put a card file into the virtual meter");
  meterCmd->add_option("card", meter.cardFile, "Card file (RETURN is written back)")->required();
  meterCmd->add_option("--keys", meter.keys, "Key folder (vending.key)")->required();
  meterCmd->add_option("--days", meter.days, "Simulated days")->capture_default_str();
  meterCmd->add_option("--per-day", meter.milliUnitsPerDay,
                       "Consumption per day in thousandths of a unit (Wh or litres)")
      ->capture_default_str();
  auto* startOpt = meterCmd->add_option("--start", start, "Start time, Unix seconds");

  CLI11_PARSE(app, argc, argv);

  if (keysCmd->parsed()) return runKeys(keys, std::cout);
  if (issueCmd->parsed()) return runIssue(issue, std::cout);
  if (topupCmd->parsed()) {
    if (sequenceOpt->count() > 0) topup.sequence = topupSequence;
    if (timeOpt->count() > 0) topup.issuedAt = topupTime;
    return runTopup(topup, std::cout);
  }
  if (dumpCmd->parsed()) {
    if (!dumpCard.empty()) dump.cardFile = dumpCard;
    if (!dumpReader.empty()) dump.reader = dumpReader;
    return runDump(dump, std::cout);
  }
  if (serveCmd->parsed()) {
    if (tearOpt->count() > 0) serve.tearAt = tearAt;
    serve.tearAfter = tearWhen == "after";
    return runServe(serve, std::cout);
  }
  if (meterCmd->parsed()) {
    if (startOpt->count() > 0) meter.start = start;
    return runMeter(meter, std::cout);
  }
  return kExitInput;
}
