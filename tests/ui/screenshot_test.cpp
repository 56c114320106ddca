// Runs the real kiosk binary in a real window (under Xvfb when there is no display), has it
// write a frame as PNG, and looks at the pixels: size, not blank, and that the CJK title was
// drawn with real glyphs (a missing glyph renders as a narrow '?', which these checks catch).
#include "platform/gfx/image.hpp"
#include "../support/processes.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using kiosk::platform::Image;
using nlohmann::json;

struct Shot {
  Image image;
  json layout;
};

std::string shellQuote(const std::string& s) { return "'" + s + "'"; }

// The production kiosk, and kiosk-sim (the simulator).
constexpr const char* kKiosk = KIOSK_BINARY;
constexpr const char* kKioskSim = KIOSK_SIM_BINARY;

// Runs PROGRAM in a window of WxH with ARGS, under Xvfb when there is no display.
int runProgram(const char* program, int width, int height, const std::string& args,
               const std::string& logLevel = "warn") {
  std::string command = shellQuote(program) + " --windowed " + std::to_string(width) + "x" +
                        std::to_string(height) + " " + args + " --log-level " + logLevel;
  // Under AddressSanitizer, the GL driver that libGL loads and unloads at exit leaves
  // allocations LeakSanitizer can only attribute to "<unknown module>"; leak checking of the
  // kiosk's own code is done in-process by the unit tests. Memory errors still abort.
  command = "env ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" " + command;
  const char* display = std::getenv("DISPLAY");
  if (display == nullptr || *display == '\0') {
    command = "xvfb-run -a -s '-screen 0 1920x1920x24' " + command;
  }
  const int rc = std::system(command.c_str());
  EXPECT_EQ(rc, 0) << command;
  return rc;
}

int runKiosk(int width, int height, const std::string& args) {
  return runProgram(kKiosk, width, height, args);
}

Shot loadShot(const std::string& png, const std::string& layout) {
  Shot shot;
  auto image = kiosk::platform::readPng(png);
  EXPECT_TRUE(image.has_value()) << "no PNG at " << png;
  if (image) shot.image = std::move(*image);
  std::ifstream in(layout);
  EXPECT_TRUE(in.good()) << "no layout at " << layout;
  if (in) shot.layout = json::parse(in);
  return shot;
}

// Runs `kiosk --screenshot FILE ARGS`; the PNG is kept as a test artefact.
Shot takeScreenshot(const std::string& name, int width, int height, const std::string& args,
                    const char* program = kKiosk) {
  std::filesystem::create_directories(KIOSK_ARTIFACTS_DIR);
  const std::string png = std::string(KIOSK_ARTIFACTS_DIR) + "/" + name + ".png";
  const std::string layout = std::string(KIOSK_ARTIFACTS_DIR) + "/" + name + ".layout.json";
  std::filesystem::remove(png);
  std::filesystem::remove(layout);
  runProgram(program, width, height, "--screenshot " + shellQuote(png) + " " + args);
  return loadShot(png, layout);
}

double luminance(const std::uint8_t* p) { return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]; }

double pixelVariance(const Image& image) {
  double sum = 0;
  double sumSq = 0;
  const double n = static_cast<double>(image.width) * image.height;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const double l = luminance(image.pixel(x, y));
      sum += l;
      sumSq += l * l;
    }
  }
  const double mean = sum / n;
  return sumSq / n - mean * mean;
}

std::string allTextOf(const json& layout) {
  std::string text;
  for (const auto& t : layout["texts"]) text += t["text"].get<std::string>() + "\n";
  return text;
}

const json* findText(const json& layout, const std::string& id) {
  for (const auto& item : layout["texts"]) {
    if (item["id"] == id) return &item;
  }
  return nullptr;
}

struct Ink {
  int pixels = 0;
  int left = 1 << 30;
  int right = -1;
  int top = 1 << 30;
  int bottom = -1;
  int width() const { return right - left + 1; }
  int height() const { return bottom - top + 1; }
};

// Bright (text-coloured) pixels inside the box of a text item; the background is dark blue.
Ink inkIn(const Image& image, const json& item) {
  Ink ink;
  const int x0 = std::max(0, static_cast<int>(item["x"].get<double>()));
  const int y0 = std::max(0, static_cast<int>(item["y"].get<double>()));
  const int x1 = std::min(image.width, static_cast<int>(std::ceil(item["x"].get<double>() +
                                                                  item["w"].get<double>())));
  const int y1 = std::min(image.height, static_cast<int>(std::ceil(item["y"].get<double>() +
                                                                   item["h"].get<double>())));
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      if (luminance(image.pixel(x, y)) > 160) {
        ++ink.pixels;
        ink.left = std::min(ink.left, x);
        ink.right = std::max(ink.right, x);
        ink.top = std::min(ink.top, y);
        ink.bottom = std::max(ink.bottom, y);
      }
    }
  }
  return ink;
}

int codepoints(const std::string& utf8) {
  int n = 0;
  for (const char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
  return n;
}

void expectCleanLayout(const Shot& shot) {
  const auto& texts = shot.layout["texts"];
  ASSERT_GE(texts.size(), 3U);
  for (const auto& t : texts) {
    const std::string id = t["id"];
    if (!t["box"].is_null()) {
      const auto& b = t["box"];
      const double tx = t["x"], ty = t["y"], tw = t["w"], th = t["h"];
      const double bx = b[0], by = b[1], bw = b[2], bh = b[3];
      EXPECT_TRUE(tx >= bx - 0.5 && ty >= by - 0.5 && tx + tw <= bx + bw + 0.5 &&
                  ty + th <= by + bh + 0.5)
          << id << " (\"" << t["text"].get<std::string>() << "\") spills out of its button";
    }
    if (t.contains("within") && !t["within"].is_null()) {
      const auto& p = t["within"];
      const double tx = t["x"], ty = t["y"], tw = t["w"], th = t["h"];
      const double px = p[0], py = p[1], pw = p[2], ph = p[3];
      EXPECT_TRUE(tx >= px - 0.5 && ty >= py - 0.5 && tx + tw <= px + pw + 0.5 &&
                  ty + th <= py + ph + 0.5)
          << id << " (\"" << t["text"].get<std::string>() << "\") runs out of its panel";
    }
    EXPECT_EQ(t["missing_glyphs"], 0) << id << ": glyphs missing from the font atlas";
    EXPECT_GE(t["x"].get<double>(), 0) << id;
    EXPECT_GE(t["y"].get<double>(), 0) << id;
    EXPECT_LE(t["x"].get<double>() + t["w"].get<double>(), shot.image.width) << id << " clipped";
    EXPECT_LE(t["y"].get<double>() + t["h"].get<double>(), shot.image.height) << id << " clipped";
    EXPECT_LE(t["w"].get<double>(), t["max_width"].get<double>() + 1.0) << id << " too wide";
  }
  // No text may run into a button other than its own label.
  for (const auto& button : texts) {
    if (button["box"].is_null()) continue;
    const auto& b = button["box"];
    for (const auto& t : texts) {
      if (&t == &button) continue;
      const double tx = t["x"], ty = t["y"], tw = t["w"], th = t["h"];
      const double bx = b[0], by = b[1], bw = b[2], bh = b[3];
      const bool apart = tx + tw <= bx + 1 || bx + bw <= tx + 1 || ty + th <= by + 1 ||
                         by + bh <= ty + 1;
      EXPECT_TRUE(apart) << t["id"] << " runs into the button " << button["id"] << " on "
                         << shot.layout["screen"] << " (" << shot.layout["lang"] << ")";
    }
  }
  for (std::size_t i = 0; i < texts.size(); ++i) {
    for (std::size_t j = i + 1; j < texts.size(); ++j) {
      const auto& a = texts[i];
      const auto& b = texts[j];
      // Lines stacked edge to edge touch; a pixel of tolerance absorbs float rounding.
      constexpr double kTolerance = 1.0;
      const bool apart =
          a["x"].get<double>() + a["w"].get<double>() <= b["x"].get<double>() + kTolerance ||
          b["x"].get<double>() + b["w"].get<double>() <= a["x"].get<double>() + kTolerance ||
          a["y"].get<double>() + a["h"].get<double>() <= b["y"].get<double>() + kTolerance ||
          b["y"].get<double>() + b["h"].get<double>() <= a["y"].get<double>() + kTolerance;
      EXPECT_TRUE(apart) << a["id"] << " overlaps " << b["id"] << " on "
                         << shot.layout["screen"] << " (" << shot.layout["lang"] << ")";
    }
  }
}

}  // namespace

TEST(AttractScreenshot, PortraitChineseShowsTheCjkTitle) {
  const Shot shot = takeScreenshot("attract_zh-CN_portrait", 1080, 1920, "--screen attract --lang zh-CN", kKioskSim);
  ASSERT_EQ(shot.image.width, 1080);
  ASSERT_EQ(shot.image.height, 1920);
  EXPECT_GT(pixelVariance(shot.image), 100.0) << "the frame is blank";
  EXPECT_EQ(shot.layout["lang"], "zh-CN");

  const json* title = findText(shot.layout, "app.title");
  ASSERT_NE(title, nullptr);
  EXPECT_EQ((*title)["text"], "预付费卡自助充值");
  const Ink ink = inkIn(shot.image, *title);
  const int glyphs = codepoints((*title)["text"]);
  ASSERT_EQ(glyphs, 8);
  // Full-width ideographs are about as wide as they are tall, so eight of them make a run of
  // ink over 6.4 times its height; '?' fallbacks (half width) would make about 5.
  EXPECT_GT(ink.height(), 20) << "title has no ink";
  EXPECT_GT(ink.width(), 0.8 * glyphs * ink.height()) << "title ink is too narrow for CJK";
  // Ideographs are dense: well over 15% of the ink's bounding box is ink.
  EXPECT_GT(ink.pixels, 0.15 * ink.width() * ink.height()) << "too little ink for CJK glyphs";
  expectCleanLayout(shot);
}

TEST(AttractScreenshot, PortraitEnglish) {
  const Shot shot = takeScreenshot("attract_en_portrait", 1080, 1920, "--screen attract --lang en", kKioskSim);
  ASSERT_EQ(shot.image.width, 1080);
  EXPECT_GT(pixelVariance(shot.image), 100.0);
  const json* title = findText(shot.layout, "app.title");
  ASSERT_NE(title, nullptr);
  EXPECT_EQ((*title)["text"], "Prepaid Card Top-up");
  EXPECT_GT(inkIn(shot.image, *title).pixels, 500);
  // The language button offers the other language, in its own script.
  const json* lang = findText(shot.layout, "lang.switch");
  ASSERT_NE(lang, nullptr);
  EXPECT_EQ((*lang)["text"], "中文");
  expectCleanLayout(shot);
}

TEST(AttractScreenshot, LandscapeChinese) {
  const Shot shot = takeScreenshot("attract_zh-CN_landscape", 1920, 1080, "--screen attract --lang zh-CN");
  ASSERT_EQ(shot.image.width, 1920);
  ASSERT_EQ(shot.image.height, 1080);
  EXPECT_GT(pixelVariance(shot.image), 100.0);
  EXPECT_EQ(findText(shot.layout, "mode.simulation"), nullptr)
      << "simulation badge shown outside simulation mode";
  const json* title = findText(shot.layout, "app.title");
  ASSERT_NE(title, nullptr);
  EXPECT_GT(inkIn(shot.image, *title).pixels, 1000);
  expectCleanLayout(shot);
}

namespace {

// What a person reads on a Chinese screen is Chinese: Latin words only from a short list
// (the English switch, units, the error and order codes staff quote, the card's file names and
// the reader's own name, which are data). The kiosk's log lines are shown as the log has them.
void expectChineseWords(const json& layout, const std::string& name) {
  static const std::regex allowed(
      R"(English|kWh|m³|E-[a-z_]+|ord_[0-9A-Za-z]+|PC/SC|\b(ID|CREDIT|RETURN|PARAMS)\b|"cfg-[0-9]+"|Virtual PCD)");
  static const std::regex word(R"([A-Za-z]{2,})");
  for (const auto& t : layout["texts"]) {
    const std::string id = t["id"];
    if (id.rfind("maint.log", 0) == 0) continue;
    const std::string text = std::regex_replace(t["text"].get<std::string>(), allowed, " ");
    std::smatch found;
    EXPECT_FALSE(std::regex_search(text, found, word))
        << "Latin \"" << found.str() << "\" in " << id << " on " << name << ": " << t["text"];
  }
}

// No text is a raw state name or an untranslated key ("error.card_full.title"), in either
// language.
void expectNoRawNames(const json& layout, const std::string& name) {
  static const std::regex state(R"(\b(CREATED|PAID|TOKEN_ISSUED|DELIVERED|EXPIRED|CANCELED|REFUND_PENDING|REFUNDED)\b)");
  static const std::regex key(R"([a-z_]+\.[a-z_]+(\.[a-z_]+)*)");
  for (const auto& t : layout["texts"]) {
    const std::string text = t["text"];
    EXPECT_FALSE(std::regex_search(text, state)) << "raw state in " << t["id"] << " on " << name << ": " << text;
    EXPECT_FALSE(std::regex_match(text, key)) << "untranslated key in " << t["id"] << " on " << name << ": " << text;
  }
}

// Every screen of the gallery, both languages, one orientation: not blank, no text clipped,
// spilling out of its button or overlapping other text, no glyph missing, no Latin words on
// a Chinese screen beyond the allowed ones, no raw state names or keys.
void checkGallery(const std::string& orientation, int width, int height) {
  const std::string dir = std::string(KIOSK_ARTIFACTS_DIR) + "/gallery_" + orientation;
  std::filesystem::remove_all(dir);
  ASSERT_EQ(runKiosk(width, height, "--gallery " + shellQuote(dir)), 0);
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".png") continue;
    const auto png = entry.path().string();
    const auto layout =
        std::filesystem::path(png).replace_extension(".layout.json").string();
    SCOPED_TRACE(png);
    const Shot shot = loadShot(png, layout);
    ASSERT_EQ(shot.image.width, width);
    ASSERT_EQ(shot.image.height, height);
    EXPECT_GT(pixelVariance(shot.image), 100.0) << "blank frame";
    expectCleanLayout(shot);
    // Every error and out-of-service screen says whom to call (the samples' service phone).
    const auto name = entry.path().filename().string();
    if (name.find("_zh-CN.png") != std::string::npos) expectChineseWords(shot.layout, name);
    expectNoRawNames(shot.layout, name);
    if (name.rfind("error_", 0) == 0 || name.rfind("out_of_service", 0) == 0 || name.rfind("take_card", 0) == 0) {
      EXPECT_NE(allTextOf(shot.layout).find("400-820-1234"), std::string::npos) << "no service phone on " << name;
    }
    ++checked;
  }
  // 29 screens (attract, reading, account, a water card's account its meter never reported
  // to, an account read offline, a full card's account, amount, pay, pay with the cloud out of
  // reach, writing, done, reinsert, take the card, out of service, eleven error screens, the
  // staff PIN pad, maintenance, maintenance with a reader test's result, and maintenance with a
  // reader test and a restart under way) in two languages.
  EXPECT_EQ(checked, 58);
}

}  // namespace

TEST(ScreenGallery, PortraitEveryScreenInBothLanguages) { checkGallery("portrait", 1080, 1920); }

TEST(ScreenGallery, LandscapeEveryScreenInBothLanguages) {
  checkGallery("landscape", 1920, 1080);
}

// The amount screen says what price its estimate assumes (the sample tariff: ¥0.56 per kWh),
// in each language with that language's unit.
TEST(AmountScreen, TheEstimateNamesThePriceItAssumes) {
  for (const auto& [lang, unit] : {std::pair<std::string, std::string>{"en", "kWh"}, {"zh-CN", "千瓦时"}}) {
    SCOPED_TRACE(lang);
    const Shot shot = takeScreenshot("amount_price_" + lang, 1080, 1920, "--screen amount --lang " + lang);
    const json* price = findText(shot.layout, "amount.price");
    ASSERT_NE(price, nullptr) << "the amount screen does not say which price its estimate assumes";
    const std::string text = (*price)["text"];
    EXPECT_NE(text.find("0.56"), std::string::npos) << text;
    EXPECT_NE(text.find(unit), std::string::npos) << text;
    expectCleanLayout(shot);
  }
}

// A water card whose meter has never written to it: the screen says the meter has not
// reported (never a 1970 date or a ¥0.00 balance), speaks of water (水表, 供水), and does not call
// an unknown supply normal.
TEST(AccountScreen, AWaterMeterThatNeverReportedSaysSo) {
  for (const std::string lang : {"zh-CN", "en"}) {
    SCOPED_TRACE(lang);
    const Shot shot = takeScreenshot("account_water_" + lang, 1080, 1920, "--screen account:water --lang " + lang);
    ASSERT_EQ(shot.layout.value("screen", ""), "account:water");
    const std::string text = allTextOf(shot.layout);
    EXPECT_EQ(text.find("1970"), std::string::npos) << text;
    EXPECT_EQ(text.find("¥0.00"), std::string::npos) << text;
    const json* reported = findText(shot.layout, "account.balance_at");
    ASSERT_NE(reported, nullptr);
    EXPECT_NE((*reported)["text"].get<std::string>().find(lang == "en" ? "Not yet reported" : "尚未上报"),
              std::string::npos)
        << (*reported)["text"];
    for (const char* electric : {"电表", "供电", "kWh", "千瓦时", "Supply normal", "供水正常"}) {
      EXPECT_EQ(text.find(electric), std::string::npos) << electric << " on a water card that never reported:\n" << text;
    }
    expectCleanLayout(shot);
  }
}

// The card number to put back is read at a glance: masked as everywhere, on one line of its
// own, never wrapped in the middle of its groups.
TEST(ReinsertScreen, TheCardNumberStandsWholeOnOneLine) {
  for (const std::string lang : {"zh-CN", "en"}) {
    for (const auto& [width, height] : {std::pair{1080, 1920}, std::pair{1920, 1080}}) {
      SCOPED_TRACE(lang + " " + std::to_string(width));
      const Shot shot = takeScreenshot("reinsert_" + lang + std::to_string(width), width, height,
                                       "--screen reinsert --lang " + lang);
      const json* card = findText(shot.layout, "reinsert.card");
      ASSERT_NE(card, nullptr) << "the card number is not a line of its own:\n" << allTextOf(shot.layout);
      EXPECT_EQ((*card)["text"], "**** **** **** 5678");
      const json* countdown = findText(shot.layout, "reinsert.countdown");
      ASSERT_NE(countdown, nullptr);
      // The same font on one line: the same height.
      EXPECT_LT((*card)["h"].get<double>(), (*countdown)["h"].get<double>() * 1.5) << "the number wraps";
      expectCleanLayout(shot);
    }
  }
}

TEST(PayScreen, QrCodeDecodesToThePayUrl) {
  const Shot shot = takeScreenshot("pay_qr", 1080, 1920, "--screen pay --lang en");
  ASSERT_EQ(shot.image.width, 1080);
  const std::string png = std::string(KIOSK_ARTIFACTS_DIR) + "/pay_qr.png";
  const std::string command = "zbarimg --raw -q " + shellQuote(png);
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string decoded;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) decoded += buffer;
  const int rc = pclose(pipe);
  EXPECT_EQ(rc, 0) << "zbarimg found no QR code in " << png;
  while (!decoded.empty() && (decoded.back() == '\n' || decoded.back() == '\r')) decoded.pop_back();
  // The sample order's pay URL (kiosk/sample_views.cpp).
  EXPECT_EQ(decoded, "http://127.0.0.1:8443/pay/ord_7Q2K9X4M1C");
}

namespace {

std::string decodeQr(const std::string& png) {
  return kiosk::test::runCommand("zbarimg --raw -q " + shellQuote(png));
}


// Runs `kiosk-sim --demo` in `lang` with fresh state and returns its screenshots (PNG paths,
// in the order they were taken); empty when the demo failed.
std::vector<std::string> runDemo(const std::string& name, const std::string& lang) {
  const std::string dir = std::string(KIOSK_ARTIFACTS_DIR) + "/" + name;
  const std::string state = std::string(KIOSK_ARTIFACTS_DIR) + "/" + name + "-state";
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(state);
  if (runProgram(kKioskSim, 1080, 1920, "--demo --lang " + lang + " --demo-dir " + shellQuote(dir) +
                                        " --state-dir " + shellQuote(state)) != 0) {
    return {};
  }
  std::vector<std::string> pngs;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".png") pngs.push_back(entry.path().string());
  }
  std::sort(pngs.begin(), pngs.end());
  return pngs;
}

// Where the layout record says the kiosk's screen is ({"x", "y", "w", "h"}; null when it
// does not say).
json kioskOf(const json& layout) { return layout.contains("kiosk") ? layout["kiosk"] : json(); }

std::string layoutOf(const std::string& png) {
  return std::filesystem::path(png).replace_extension(".layout.json").string();
}

// Runs `kiosk-sim --staff-demo` in `lang` with fresh state, logging at `logLevel` (what the
// dashboard's log shows), and returns the dashboards it captured once their facts were in, in
// order: the first visit, the same visit after its reader test, the second visit.
std::vector<Shot> runStaffDemo(const std::string& name, const std::string& lang,
                               const std::string& logLevel = "warn") {
  const std::string dir = std::string(KIOSK_ARTIFACTS_DIR) + "/" + name;
  const std::string state = std::string(KIOSK_ARTIFACTS_DIR) + "/" + name + "-state";
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(state);
  if (runProgram(kKioskSim, 1080, 1920,
                 "--staff-demo --lang " + lang + " --demo-dir " + shellQuote(dir) +
                     " --state-dir " + shellQuote(state),
                 logLevel) != 0) {
    return {};
  }
  std::vector<std::string> pngs;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".png") pngs.push_back(entry.path().string());
  }
  std::sort(pngs.begin(), pngs.end());
  std::vector<Shot> dashboards;
  for (const auto& png : pngs) {
    Shot shot = loadShot(png, layoutOf(png));
    // Captured on arrival, before the worker's facts came back, a dashboard has no health.
    if (shot.layout["screen"] == "maintenance" && findText(shot.layout, "maint.health0.name") != nullptr) {
      dashboards.push_back(std::move(shot));
    }
  }
  return dashboards;
}

bool hasLatinLetter(const std::string& text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); });
}

bool hasCjk(const std::string& text) {
  // Lead bytes of the three-byte UTF-8 sequences of U+3000..U+9FFF.
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b >= 0xE3 && b <= 0xE9;
  });
}

}  // namespace

// `kiosk-sim --demo`: the embedded cloud, the in-process reader and the demo card; the
// kiosk tops the card up on its own, the meter loads the token, and the card shows it.
TEST(SimulationDemo, TopsUpACardAndShowsEveryScreenItPasses) {
  const std::vector<std::string> pngs = runDemo("demo", "en");
  ASSERT_FALSE(pngs.empty()) << "the demo failed";
  std::vector<std::string> screens;
  std::map<std::string, Shot> first;  // the first shot of each screen
  for (const auto& png : pngs) {
    SCOPED_TRACE(png);
    const Shot shot = loadShot(png, layoutOf(png));
    // The kiosk's screen is the size asked for; the simulator's window has its panel beside it.
    ASSERT_TRUE(kioskOf(shot.layout).is_object()) << "the layout record does not say where the kiosk's screen is";
    ASSERT_EQ(kioskOf(shot.layout).value("w", 0.0), 1080.0);
    EXPECT_GT(pixelVariance(shot.image), 100.0) << "blank frame";
    expectCleanLayout(shot);
    const std::string screen = shot.layout["screen"];
    screens.push_back(screen);
    if (!first.count(screen)) first.emplace(screen, shot);
  }
  // The resident's way through a top-up, in order (writing may pass too fast to matter, but
  // the demo holds each screen until it is captured).
  const std::vector<std::string> expected = {"attract", "reading", "account", "amount", "pay",
                                             "writing", "done", "attract", "reading", "account",
                                             "attract"};
  EXPECT_EQ(screens, expected);

  // The QR code on the pay screen is the order's pay URL on the embedded cloud.
  const auto payShot = std::find(screens.begin(), screens.end(), "pay") - screens.begin();
  ASSERT_LT(static_cast<std::size_t>(payShot), pngs.size());
  const std::string url = decodeQr(pngs[static_cast<std::size_t>(payShot)]);
  EXPECT_TRUE(url.rfind("http://127.0.0.1:", 0) == 0 && url.find("/pay/ord_") != std::string::npos)
      << "decoded: " << url;

  // The card started with ¥86.20 on its meter; ¥50 went in, property fees first (¥35.00).
  ASSERT_TRUE(first.count("account"));
  EXPECT_NE(allTextOf(first["account"].layout).find("86.20"), std::string::npos) << allTextOf(first["account"].layout);
  // The writing screen starts at its first step, never at "step 0".
  ASSERT_TRUE(first.count("writing"));
  const json* step = findText(first["writing"].layout, "writing.step");
  ASSERT_NE(step, nullptr);
  EXPECT_EQ((*step)["text"].get<std::string>().find("Step 0 "), std::string::npos) << (*step)["text"];
  ASSERT_TRUE(first.count("done"));
  const std::string done = allTextOf(first["done"].layout);
  EXPECT_NE(done.find("15.00"), std::string::npos) << done;
  // After the meter loaded the token and ran a day, the card reports the new balance.
  const Shot last = loadShot(pngs[pngs.size() - 2],
                             layoutOf(pngs[pngs.size() - 2]));
  EXPECT_EQ(last.layout["screen"], "account");
  EXPECT_EQ(allTextOf(last.layout).find("86.20"), std::string::npos) << "the balance did not change";
}

// The done screen of a real top-up in Chinese: every receipt line speaks Chinese (the order
// number, money and the time are the only Latin text), and the time is the kiosk's own.
TEST(SimulationDemo, TheChineseReceiptLinesAreChinese) {
  const std::vector<std::string> pngs = runDemo("demo_zh", "zh-CN");
  ASSERT_FALSE(pngs.empty()) << "the demo failed";
  json done;
  for (const auto& png : pngs) {
    std::ifstream in(layoutOf(png));
    const json layout = json::parse(in);
    if (layout["screen"] == "done") {
      done = layout;
      break;
    }
  }
  ASSERT_FALSE(done.is_null()) << "the demo never reached the done screen";
  std::vector<std::string> lines;
  for (const auto& t : done["texts"]) {
    const std::string id = t["id"];
    if (id.starts_with("done.receipt") && id != "done.receipt") lines.push_back(t["text"]);
  }
  ASSERT_GE(lines.size(), 4U) << allTextOf(done);
  for (const auto& line : lines) {
    for (const char* english : {"Card", "Meter", "Order", "Token", "credit", "Total", "Fees", "UTC"}) {
      EXPECT_EQ(line.find(english), std::string::npos) << "English on the Chinese receipt: " << line;
    }
  }
}


namespace {

struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

Box textBoxOf(const json& t) { return {t["x"], t["y"], t["w"], t["h"]}; }

std::vector<Box> boxesOf(const json& t) {
  std::vector<Box> boxes{textBoxOf(t)};
  if (!t["box"].is_null()) boxes.push_back({t["box"][0], t["box"][1], t["box"][2], t["box"][3]});
  return boxes;
}

bool overlaps(const Box& a, const Box& b) {
  constexpr double kTolerance = 1.0;  // edge to edge is apart
  return a.x + a.w > b.x + kTolerance && b.x + b.w > a.x + kTolerance &&
         a.y + a.h > b.y + kTolerance && b.y + b.h > a.y + kTolerance;
}

bool onPanel(const json& t) { return t["id"].get<std::string>().rfind("sim.", 0) == 0; }

// The panel's buttons as the layout record has them.
std::set<std::string> panelButtons(const json& layout) {
  std::set<std::string> ids;
  for (const auto& t : layout["texts"]) {
    if (onPanel(t) && !t["box"].is_null()) ids.insert(t["id"].get<std::string>());
  }
  return ids;
}

// The simulation panel beside the kiosk's screen, as the layout record has it: every kiosk
// widget inside the kiosk's screen, and no text or button of the panel over any of them.
void expectPanelBesideTheKiosk(const Shot& shot) {
  const json kiosk = kioskOf(shot.layout);
  ASSERT_TRUE(kiosk.is_object()) << "the layout record does not say where the kiosk's screen is";
  const Box screen{kiosk["x"], kiosk["y"], kiosk["w"], kiosk["h"]};
  std::vector<std::pair<std::string, Box>> kioskBoxes;
  for (const auto& t : shot.layout["texts"]) {
    if (onPanel(t)) continue;
    for (const Box& b : boxesOf(t)) {
      EXPECT_TRUE(b.x >= screen.x - 0.5 && b.x + b.w <= screen.x + screen.w + 0.5)
          << t["id"] << " leaves the kiosk's screen";
      kioskBoxes.emplace_back(t["id"], b);
    }
  }
  for (const auto& t : shot.layout["texts"]) {
    if (!onPanel(t)) continue;
    for (const Box& p : boxesOf(t)) {
      EXPECT_FALSE(overlaps(p, screen)) << t["id"] << " lies on the kiosk's screen";
      for (const auto& [id, k] : kioskBoxes) {
        EXPECT_FALSE(overlaps(p, k)) << "the panel's " << t["id"] << " covers the kiosk's " << id
                                     << " on " << shot.layout["screen"];
      }
    }
  }
}

// What the expanded panel offers: a button per demo card and pull, the order's pay and
// decline, the network, time, and the meters; and the button that folds it.
const std::vector<std::string> kPanelButtons = {
    "sim.toggle", "sim.card.normal", "sim.card.low",  "sim.card.water", "sim.card.staff",
    "sim.pull",   "sim.pay",         "sim.decline",   "sim.network",    "sim.advance_10min",
    "sim.advance_1day", "sim.meter.normal"};

}  // namespace

// The demo passes every resident screen: on each, the panel sits beside the kiosk's screen
// (which keeps the size it was given), its buttons are in the layout record, and none of them
// covers the kiosk's main button or its footer.
TEST(SimulationPanel, SitsBesideTheKioskOnEveryScreenOfTheDemo) {
  const std::vector<std::string> pngs = runDemo("demo_panel", "en");
  ASSERT_FALSE(pngs.empty()) << "the demo failed";
  bool sawMainButton = false;
  bool sawFooter = false;
  for (const auto& png : pngs) {
    SCOPED_TRACE(png);
    const Shot shot = loadShot(png, layoutOf(png));
    const json kiosk = kioskOf(shot.layout);
    ASSERT_TRUE(kiosk.is_object()) << "the layout record does not say where the kiosk's screen is";
    EXPECT_EQ(kiosk.value("x", -1.0), 0.0);
    EXPECT_EQ(kiosk.value("w", 0.0), 1080.0) << "the kiosk's screen is not the size asked for";
    EXPECT_EQ(kiosk.value("h", 0.0), 1920.0);
    EXPECT_GT(shot.image.width, 1080) << "no room beside the kiosk's screen";
    const auto buttons = panelButtons(shot.layout);
    for (const auto& id : kPanelButtons) EXPECT_EQ(buttons.count(id), 1U) << id << " not recorded";
    expectPanelBesideTheKiosk(shot);
    expectCleanLayout(shot);
    sawMainButton = sawMainButton || findText(shot.layout, "account.topup") != nullptr;
    sawFooter = sawFooter || findText(shot.layout, "footer.kiosk") != nullptr;
  }
  EXPECT_TRUE(sawMainButton && sawFooter) << "the demo showed no main button or no footer";
}

namespace {

using kiosk::test::spawnLogged;
using kiosk::test::stopProcess;
std::string output(const std::string& command) { return kiosk::test::runCommand(command); }

// kiosk-sim at work in a 1080x1920 kiosk screen, on an X display of its own so that the
// pointer presses reach its window only, writing every screen it shows into a shots folder.
class SimulatorWindow : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::string(KIOSK_ARTIFACTS_DIR) + "/" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    int number = 600 + static_cast<int>(getpid() % 300);
    while (std::filesystem::exists("/tmp/.X" + std::to_string(number) + "-lock")) ++number;
    display = ":" + std::to_string(number);
    xvfb = spawnLogged({"Xvfb", display, "-screen", "0", "1920x1920x24", "-nolisten", "tcp"},
                       dir + "/xvfb.log");
    ASSERT_GT(xvfb, 0) << "cannot start Xvfb";
    for (int i = 0; i < 100 && !std::filesystem::exists("/tmp/.X11-unix/X" + std::to_string(number)); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    simulator = spawnLogged({"env", "DISPLAY=" + display, kKioskSim, "--windowed", "1080x1920",
                             "--lang", "en", "--state-dir", dir + "/state", "--shots",
                             dir + "/shots", "--log-level", "info"},
                            dir + "/kiosk-sim.log");
    ASSERT_GT(simulator, 0);
    window = output("DISPLAY=" + display + " xdotool search --sync --onlyvisible --pid " +
                    std::to_string(simulator) + " 2>/dev/null | head -1");
    ASSERT_FALSE(window.empty()) << "kiosk-sim opened no window";
  }
  void TearDown() override {
    stopProcess(simulator);
    stopProcess(xvfb);
  }

  // The layout of the first shot of `screen` after the last one returned.
  std::optional<json> waitShot(const std::string& screen) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    const auto shots = std::filesystem::path(dir) / "shots";
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<std::filesystem::path> found;
      if (std::filesystem::exists(shots)) {
        for (const auto& entry : std::filesystem::directory_iterator(shots)) {
          const auto name = entry.path().filename().string();
          if (name.ends_with("_" + screen + ".layout.json") && std::stoi(name) > lastShot) {
            found.push_back(entry.path());
          }
        }
      }
      if (!found.empty()) {
        std::sort(found.begin(), found.end());
        std::ifstream in(found.front());
        json layout = json::parse(in, nullptr, false);
        if (!layout.is_discarded()) {
          lastShot = std::stoi(found.front().filename().string());
          return layout;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::nullopt;
  }

  // Presses the button recorded with this id, with the pointer, where it was drawn.
  void press(const json& layout, const std::string& id) {
    for (const auto& t : layout["texts"]) {
      if (t["id"] != id || t["box"].is_null()) continue;
      const auto& b = t["box"];
      const int x = static_cast<int>(b[0].get<double>() + b[2].get<double>() / 2);
      const int y = static_cast<int>(b[1].get<double>() + b[3].get<double>() / 2);
      const std::string command = "DISPLAY=" + display + " xdotool mousemove --window " + window +
                                  " " + std::to_string(x) + " " + std::to_string(y) +
                                  " sleep 0.15 mousedown 1 sleep 0.15 mouseup 1 sleep 0.3";
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
      return;
    }
    FAIL() << "no button " << id << " on " << layout["screen"];
  }

  std::string dir;
  std::string display;
  std::string window;
  pid_t xvfb = -1;
  pid_t simulator = -1;
  int lastShot = 0;
};

}  // namespace

// The panel folds to its one button and unfolds again, pressed with the pointer in the
// simulator's window; folded, it offers nothing else, and the kiosk's screen is untouched.
TEST_F(SimulatorWindow, TheSimulationPanelCollapsesAndExpands) {
  const auto attract = waitShot("attract");
  ASSERT_TRUE(attract) << "no attract screen";
  ASSERT_EQ(panelButtons(*attract).count("sim.card.normal"), 1U) << "the panel has no card buttons";
  press(*attract, "sim.card.normal");
  const auto account = waitShot("account");
  ASSERT_TRUE(account) << "the panel's card button inserted no card";
  expectPanelBesideTheKiosk(Shot{{}, *account});

  // Folded: only the button that unfolds it is left, and the kiosk works as before.
  press(*account, "sim.toggle");
  press(*account, "account.topup");
  const auto amount = waitShot("amount");
  ASSERT_TRUE(amount) << "the kiosk's Top up button did nothing with the panel folded";
  EXPECT_EQ(panelButtons(*amount), std::set<std::string>{"sim.toggle"});
  expectPanelBesideTheKiosk(Shot{{}, *amount});

  // Unfolded again: every button is back.
  press(*amount, "sim.toggle");
  press(*amount, "common.back");
  const auto back = waitShot("account");
  ASSERT_TRUE(back) << "the kiosk's Back button did nothing";
  const auto buttons = panelButtons(*back);
  for (const auto& id : kPanelButtons) EXPECT_EQ(buttons.count(id), 1U) << id << " did not come back";
}

// A staff visit in each language: every health detail on the dashboard (reader, PC/SC,
// network, cloud, disk, journal) is worded in the dashboard's language.
TEST(MaintenanceScreen, EveryHealthDetailIsInTheScreensLanguage) {
  for (const std::string lang : {"zh-CN", "en"}) {
    SCOPED_TRACE(lang);
    const auto dashboards = runStaffDemo("staff_health_" + lang, lang);
    ASSERT_EQ(dashboards.size(), 3U) << "the staff demo failed";
    for (const auto& shot : dashboards) {
      int details = 0;
      for (const auto& t : shot.layout["texts"]) {
        const std::string id = t["id"];
        if (!id.starts_with("maint.health") || !id.ends_with(".detail")) continue;
        ++details;
        const std::string text = t["text"];
        EXPECT_FALSE(text.empty()) << id;
        if (lang == "zh-CN") {
          EXPECT_FALSE(hasLatinLetter(text)) << "English on the Chinese dashboard: " << id << " \"" << text << "\"";
        } else {
          EXPECT_FALSE(hasCjk(text)) << "Chinese on the English dashboard: " << id << " \"" << text << "\"";
        }
      }
      EXPECT_EQ(details, 6) << "reader, PC/SC, network, cloud, disk and journal";
      expectCleanLayout(shot);
    }
  }
}

// The dashboard's log shows a long line whole, inside the log's panel: never cut at its right
// edge, in either orientation or language.
TEST(MaintenanceScreen, ALongLogLineIsShownWholeInsideItsPanel) {
  // The newest line of the sample dashboard's log (kiosk/sample_views.cpp).
  const std::string line =
      "09:41:15 warn cloud: POST /v1/kiosk/orders/ord_7Q2K9X4M1C/confirm failed: timeout after 5 s; "
      "retrying in 30 s (attempt 3 of 10)";
  for (const auto& [orientation, width, height] :
       {std::tuple<std::string, int, int>{"portrait", 1080, 1920}, {"landscape", 1920, 1080}}) {
    for (const std::string lang : {"zh-CN", "en"}) {
      SCOPED_TRACE(orientation + " " + lang);
      const Shot shot = takeScreenshot("maintenance_log_" + orientation + "_" + lang, width, height,
                                       "--screen maintenance --lang " + lang);
      const json* shown = nullptr;
      for (const auto& t : shot.layout["texts"]) {
        if (t["id"].get<std::string>().starts_with("maint.log") && t["text"] == line) shown = &t;
      }
      ASSERT_NE(shown, nullptr) << "the long log line is cut or missing:\n" << allTextOf(shot.layout);
      ASSERT_TRUE(shown->contains("within") && (*shown)["within"].is_array())
          << "the layout record does not say which panel the log line is in";
      expectCleanLayout(shot);
    }
  }
}

namespace {

// A copy of `text` without the card profile's file names, which both languages show as they
// are (docs/card-profile.md names the files so), and without the normal demo card's account
// number, an identifier like its card and meter numbers.
std::string withoutFileNames(std::string text) {
  for (const std::string name : {"PARAMS", "RETURN", "CREDIT", "ID", "ACC-1001"}) {
    for (auto at = text.find(name); at != std::string::npos; at = text.find(name)) text.erase(at, name.size());
  }
  return text;
}

}  // namespace

// The reader test shows what docs/operations.md says: the card in the reader read and
// authenticated, and its files: ID (card, meter), CREDIT (tokens waiting, free records),
// RETURN (the meter's last report: ¥86.20 on the normal demo card) and PARAMS (the tariff),
// each line whole inside the result's panel, in the dashboard's language.
TEST(MaintenanceScreen, TheReaderTestShowsTheCardsFiles) {
  for (const std::string lang : {"zh-CN", "en"}) {
    SCOPED_TRACE(lang);
    const auto dashboards = runStaffDemo("staff_reader_test_" + lang, lang);
    ASSERT_EQ(dashboards.size(), 3U) << "the staff demo failed";
    const Shot& tested = dashboards[1];
    const std::string unit = lang == "en" ? "kWh" : "千瓦时";
    const struct {
      const char* id;
      std::vector<std::string> facts;
    } kLines[] = {{"maint.test.title", {}},
                  {"maint.test.id", {"0001", "41000001"}},
                  {"maint.test.credit", {"8"}},
                  {"maint.test.return", {"¥86.20", unit}},
                  {"maint.test.params", {"¥", unit}}};
    for (const auto& line : kLines) {
      const json* shown = findText(tested.layout, line.id);
      ASSERT_NE(shown, nullptr) << line.id << " missing from the reader test:\n" << allTextOf(tested.layout);
      const std::string text = (*shown)["text"];
      for (const auto& fact : line.facts) EXPECT_NE(text.find(fact), std::string::npos) << fact << " not in " << text;
      EXPECT_TRUE(shown->contains("within") && (*shown)["within"].is_array()) << line.id << " is in no panel";
      if (lang == "zh-CN") {
        EXPECT_FALSE(hasLatinLetter(withoutFileNames(text))) << "English on the Chinese dashboard: " << text;
      }
    }
    expectCleanLayout(tested);
  }
}

// A second staff visit starts with no reader-test result: none of the first visit's, in the
// result's panel or in the log (the dashboard logs at info, as a kiosk does).
TEST(MaintenanceScreen, ASecondVisitShowsNoReaderTestOfTheFirst) {
  const auto dashboards = runStaffDemo("staff_second_visit", "en", "info");
  ASSERT_EQ(dashboards.size(), 3U) << "the staff demo failed";
  ASSERT_NE(findText(dashboards[1].layout, "maint.test.id"), nullptr) << "the first visit's reader test shows nothing";
  const Shot& second = dashboards[2];
  for (const auto& t : second.layout["texts"]) {
    const std::string id = t["id"];
    const std::string text = t["text"];
    EXPECT_FALSE(id.starts_with("maint.test")) << "the second visit shows a reader test: " << text;
    // The normal demo card, which the first visit tested.
    for (const char* trace : {"8800000001", "0001", "41000001", "reader test", "Reader test:"}) {
      EXPECT_EQ(text.find(trace), std::string::npos) << id << " shows the first visit's test: " << text;
    }
  }
  expectCleanLayout(second);
}
