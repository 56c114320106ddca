#include "kiosk/sim/headless.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "card/virtual_card.hpp"
#include "card/vpcd/vpcd_link.hpp"
#include "kiosk/sim/pay_page.hpp"

namespace kiosk::sim {

using namespace app;

namespace {

using namespace std::chrono_literals;

constexpr std::chrono::seconds kDefaultExpect{20};

// The words each command takes: minimum and maximum.
const std::map<std::string, std::pair<std::size_t, std::size_t>> kCommands{
    {"insert", {1, 1}}, {"pull", {0, 0}},    {"tear", {1, 2}},   {"press", {1, 2}},
    {"amount", {1, 1}}, {"pay", {0, 0}},     {"decline", {0, 0}}, {"expect", {1, 2}},
    {"wait", {1, 1}},   {"sync", {0, 1}},    {"staff", {1, 2}},
};

const std::map<std::string, Intent::Kind> kKeys{
    {"topup", Intent::Kind::TopUp},       {"back", Intent::Kind::Back},
    {"cancel", Intent::Kind::Cancel},     {"retry", Intent::Kind::Retry},
    {"finish", Intent::Kind::Finish},     {"clear", Intent::Kind::Clear},
    {"backspace", Intent::Kind::Backspace}, {"confirm", Intent::Kind::ConfirmAmount},
    {"digit", Intent::Kind::Digit},       {"preset", Intent::Kind::Preset},
    {"language", Intent::Kind::SwitchLanguage},
};

std::optional<double> number(const std::string& text) {
  double value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < 0) return std::nullopt;
  return value;
}

std::chrono::milliseconds seconds(double value) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * 1000.0));
}

// A virtual card in vpcd's slot, whose card file follows every committed write.
class ServedCard {
 public:
  ServedCard(const std::filesystem::path& file, card::VpcdLink::Options link,
             card::CardImage image)
      : m_file(file), m_card(std::move(image)), m_link(m_card, std::move(link)) {
    m_card.onCommit([file](const card::CardImage& committed) {
      if (!card::saveCardFile(file, committed)) spdlog::error("cannot save card file {}", file.string());
    });
  }
  void insert() { m_link.insert(); }
  bool connected(std::chrono::milliseconds timeout) { return m_link.waitConnected(timeout); }
  void tear(std::uint64_t ahead, card::VpcdLink::TearPoint point) {
    m_link.tearAt(m_link.apdus() + ahead, point);
  }
  void pull() { m_link.pull(); }

 private:
  std::filesystem::path m_file;
  card::VirtualCard m_card;
  card::VpcdLink m_link;
};

class Driver {
 public:
  Driver(const HeadlessOptions& options, Runtime& runtime, std::ostream& out)
      : m_options(options), m_runtime(runtime), m_out(out) {}
  ~Driver() { pull(); }

  // Runs one line; an empty string when it went as expected, else what went wrong.
  std::string run(const ScriptLine& line) {
    const auto& a = line.args;
    const std::string& c = line.command;
    if (c == "insert") return insert(a[0]);
    if (c == "pull") {
      pull();
      return {};
    }
    if (c == "tear") {
      const auto ahead = number(a[0]);
      if (!m_card || !ahead) return "tear needs an inserted card and an APDU number";
      const bool after = a.size() > 1 && a[1] == "after";
      if (a.size() > 1 && a[1] != "after" && a[1] != "before") return "tear: before or after";
      m_card->tear(static_cast<std::uint64_t>(*ahead),
                   after ? card::VpcdLink::TearPoint::AfterProcess
                         : card::VpcdLink::TearPoint::BeforeProcess);
      return {};
    }
    if (c == "press") {
      const auto key = kKeys.find(a[0]);
      if (key == kKeys.end()) return "unknown key " + a[0];
      const int value = a.size() > 1 ? static_cast<int>(number(a[1]).value_or(0)) : 0;
      m_runtime.press(key->second, value);
      m_runtime.pumpFor(50ms);
      return {};
    }
    if (c == "amount") {
      const auto yuan = number(a[0]);
      if (!yuan) return "amount: whole yuan expected";
      if (m_runtime.screen() == "account") m_runtime.press(Intent::Kind::TopUp);
      if (m_runtime.screen() != "amount") return "amount: the kiosk shows " + m_runtime.screen();
      m_runtime.press(Intent::Kind::Clear);
      for (const char digit : a[0]) {
        if (digit >= '0' && digit <= '9') m_runtime.press(Intent::Kind::Digit, digit - '0');
      }
      m_runtime.press(Intent::Kind::ConfirmAmount);
      return {};
    }
    if (c == "pay" || c == "decline") return payPage(c == "pay" ? "pay" : "decline");
    if (c == "expect") {
      const auto wait = a.size() > 1 ? number(a[1]) : std::optional<double>(kDefaultExpect.count());
      if (!wait) return "expect: seconds expected";
      std::set<std::string> wanted;
      std::stringstream names(a[0]);
      for (std::string name; std::getline(names, name, '|');) wanted.insert(name);
      const bool seen = m_runtime.pumpUntil(
          [&](const FlowState& state) { return wanted.count(screenName(state.screen)) != 0; },
          seconds(*wait));
      if (!seen) return "expected screen " + a[0] + ", the kiosk shows " + m_runtime.screen();
      return {};
    }
    if (c == "wait") {
      const auto wait = number(a[0]);
      if (!wait) return "wait: seconds expected";
      m_runtime.pumpFor(seconds(*wait));
      return {};
    }
    if (c == "sync") {
      const auto wait = a.empty() ? std::optional<double>(30) : number(a[0]);
      if (!wait) return "sync: seconds expected";
      if (!m_runtime.syncAndWait(seconds(*wait))) return "sync did not finish in time";
      const auto status = m_runtime.status();
      m_out << "sync outbox_pending=" << status.outboxPending
            << " open_transactions=" << status.openTransactions
            << " online=" << (status.online ? "yes" : "no") << "\n";
      return {};
    }
    if (c == "staff") {
      m_runtime.staffAction(a[0], a.size() > 1 ? a[1] : "{}");
      return {};
    }
    return "unknown command " + c;
  }

 private:
  std::string insert(const std::string& file) {
    pull();
    auto image = card::loadCardFile(file);
    if (!image) return "cannot load card file " + file;
    // pcscd must see the slot empty first (a card left by a process that died is noticed at
    // its next presence poll), or it takes the new card for the old one and never powers it.
    m_runtime.pumpUntil([this](const FlowState&) { return !m_runtime.reader().empty(); }, 5s);
    if (!m_runtime.reader().empty() && !waitReader(m_runtime.reader(), false, 5s)) {
      return "the reader " + m_runtime.reader() + " still holds a card";
    }
    m_card = std::make_unique<ServedCard>(
        file, card::VpcdLink::Options{m_options.vpcdHost, m_options.vpcdPort}, std::move(*image));
    m_card->insert();
    if (!m_card->connected(10s)) return "the card did not reach vpcd at " + m_options.vpcdHost +
                                        ":" + std::to_string(m_options.vpcdPort);
    return {};
  }

  void pull() {
    if (m_card) m_card->pull();
    m_card.reset();
  }

  // The simulated payer's phone: Pay or Decline on the last pay page the kiosk showed.
  std::string payPage(const std::string& action) {
    m_runtime.pumpFor(20ms);
    const auto pay = m_runtime.lastPay();
    if (!pay) return "no order was shown to pay";
    if (auto problem = answerPayPage(pay->payUrl, action, m_options.runtime.caFile); !problem.empty()) {
      return problem;
    }
    m_out << action << " " << pay->orderId << "\n";
    return {};
  }

  const HeadlessOptions& m_options;
  Runtime& m_runtime;
  std::ostream& m_out;
  std::unique_ptr<ServedCard> m_card;
};

}  // namespace

Result<std::vector<ScriptLine>, std::string> parseScript(const std::string& text) {
  std::vector<ScriptLine> lines;
  std::istringstream in(text);
  int number = 0;
  for (std::string raw; std::getline(in, raw);) {
    ++number;
    if (const auto hash = raw.find('#'); hash != std::string::npos) raw.resize(hash);
    std::istringstream words(raw);
    ScriptLine line;
    line.number = number;
    if (!(words >> line.command)) continue;
    // The rest of a staff line after the action is one JSON argument.
    if (line.command == "staff") {
      std::string action;
      words >> action;
      if (!action.empty()) line.args.push_back(action);
      std::string rest;
      std::getline(words, rest);
      if (const auto start = rest.find_first_not_of(' '); start != std::string::npos) {
        line.args.push_back(rest.substr(start));
      }
    } else {
      for (std::string word; words >> word;) line.args.push_back(word);
    }
    const auto known = kCommands.find(line.command);
    if (known == kCommands.end()) {
      return fail("line " + std::to_string(number) + ": unknown command \"" + line.command + "\"");
    }
    if (line.args.size() < known->second.first || line.args.size() > known->second.second) {
      return fail("line " + std::to_string(number) + ": wrong number of words for " + line.command);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

int runHeadless(const HeadlessOptions& options, std::ostream& out) {
  std::ifstream file(options.script);
  if (!file) {
    out << "error: cannot read script " << options.script << "\n";
    return 2;
  }
  std::stringstream text;
  text << file.rdbuf();
  auto script = parseScript(text.str());
  if (!script) {
    out << "error: " << script.error() << "\n";
    return 2;
  }
  auto runtime = Runtime::create(options.runtime);
  if (!runtime) {
    out << "error: " << runtime.error() << "\n";
    return 1;
  }
  (*runtime)->setTrace([&out](const std::string& line) { out << line << "\n" << std::flush; });
  (*runtime)->start();
  int status = 0;
  {
    Driver driver(options, **runtime, out);
    for (const auto& line : *script) {
      out << "> " << line.command;
      for (const auto& arg : line.args) out << " " << arg;
      out << "\n" << std::flush;
      const std::string problem = driver.run(line);
      if (!problem.empty()) {
        out << "FAILED line " << line.number << ": " << problem << "\n";
        status = 3;
        break;
      }
    }
  }
  (*runtime)->stop();
  if (status == 0) out << "ok " << script->size() << " lines\n";
  return status;
}

}  // namespace kiosk::sim
