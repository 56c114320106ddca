#include "kiosk/live.hpp"

#include <imgui.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "kiosk/frame_stats.hpp"
#include "kiosk/maintenance.hpp"
#include "kiosk/ui/frame.hpp"
#include "kiosk/ui/screens.hpp"
#include "platform/overloaded.hpp"

namespace kiosk::app {

namespace {

using namespace std::chrono_literals;
using Kind = Intent::Kind;
using Steady = std::chrono::steady_clock;

constexpr int kFramesPerChange = 3;  // ImGui settles hover and layout over a frame or two
constexpr std::chrono::seconds kDemoStepTimeout{60};

Millis steadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now().time_since_epoch()).count();
}

ui::Intent drawFlow(ui::Ui& ui, const FlowState& state, const ui::AttractView& attract) {
  return std::visit(
      Overloaded{
          [&](const screen::Attract&) { return ui::drawAttract(ui, attract); },
          [&](const screen::Reading&) { return ui::drawReading(ui); },
          [&](const screen::Account& s) { return ui::drawAccount(ui, s.account); },
          [&](const screen::Amount& s) { return ui::drawAmount(ui, s.view); },
          [&](const screen::Paying& s) { return ui::drawPay(ui, s.view); },
          [&](const screen::Writing& s) { return ui::drawWriting(ui, s.view); },
          [&](const screen::Reinsert& s) { return ui::drawReinsert(ui, s.view); },
          [&](const screen::Done& s) { return ui::drawDone(ui, s.view); },
          [&](const screen::Error& s) { return ui::drawError(ui, s.view); },
          [&](const screen::OutOfService& s) { return ui::drawOutOfService(ui, s.view); },
      },
      state.screen);
}

// The simulation panel: a small window over the kiosk's screen for whoever tries the kiosk
// out. Returns true when it changed something.
bool drawSimulationPanel(ui::Ui& ui, sim::Simulation& simulation, const Runtime& runtime,
                         std::string& status) {
  bool changed = false;
  const float u = ui.unit();
  ImGui::PushFont(ui.fonts.small);
  // Bottom left, above the footer, where the screens keep the least.
  ImGui::SetNextWindowPos(ImVec2(u, ui.size.y * 0.91F), ImGuiCond_FirstUseEver, ImVec2(0.F, 1.F));
  ImGui::SetNextWindowSize(ImVec2(ui.size.x * 0.62F, 0), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowBgAlpha(0.92F);
  if (ImGui::Begin("Simulation", nullptr, ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_AlwaysAutoResize)) {
    const auto inserted = simulation.inserted();
    ImGui::TextUnformatted("Card:");
    for (const auto& card : simulation.cards()) {
      ImGui::SameLine();
      const bool in = inserted == card.key;
      if (in) ImGui::PushStyleColor(ImGuiCol_Button, IM_COL32(40, 140, 70, 255));
      if (ImGui::Button(card.key.c_str())) {
        status = simulation.insert(card.key);
        if (status.empty()) status = "inserted the " + card.key + " card";
        changed = true;
      }
      if (in) ImGui::PopStyleColor();
    }
    ImGui::SameLine();
    if (ImGui::Button("pull")) {
      simulation.pull();
      status = "card pulled";
      changed = true;
    }
    const auto pay = runtime.lastPay();
    const bool paying = runtime.screen() == "pay" && pay.has_value();
    ImGui::TextUnformatted("Order:");
    ImGui::BeginDisabled(!paying);
    ImGui::SameLine();
    if (ImGui::Button("pay")) {
      status = simulation.answer(pay->payUrl, true);
      if (status.empty()) status = "paid " + pay->orderId;
      changed = true;
    }
    ImGui::SameLine();
    if (ImGui::Button("decline")) {
      status = simulation.answer(pay->payUrl, false);
      if (status.empty()) status = "declined " + pay->orderId;
      changed = true;
    }
    ImGui::SameLine();
    if (ImGui::Button("open pay page")) {
      std::string error;
      status = platform::Window::openUrl(pay->payUrl, &error) ? "opened " + pay->payUrl : "no browser: " + error;
    }
    ImGui::EndDisabled();
    bool up = simulation.networkUp();
    if (ImGui::Checkbox("network", &up)) {
      simulation.setNetworkUp(up);
      status = up ? "network restored" : "network cut";
      changed = true;
    }
    ImGui::SameLine();
    ImGui::Text("  time +%lld min", static_cast<long long>(simulation.timeOffset().count() / 60));
    ImGui::SameLine();
    if (ImGui::Button("+10 min")) {
      simulation.advance(std::chrono::minutes(10));
      changed = true;
    }
    ImGui::SameLine();
    if (ImGui::Button("+1 day")) {
      simulation.advance(std::chrono::hours(24));
      changed = true;
    }
    ImGui::TextUnformatted("Meter (1 day):");
    for (const char* key : {"normal", "low", "water"}) {
      ImGui::SameLine();
      if (ImGui::Button((std::string(key) + "##meter").c_str())) {
        auto report = simulation.useInMeter(key, 1);
        status = report ? fmt::format("{} meter: {} token(s) loaded, {} left{}", key, report->tokensLoaded,
                                      formatMoney(report->remainingMinor), report->cutOff ? ", supply cut" : "")
                        : report.error();
        changed = true;
      }
    }
    if (!status.empty()) ImGui::TextWrapped("%s", status.c_str());
  }
  ImGui::End();
  ImGui::PopFont();
  return changed;
}

// The scripted demo: a whole top-up and the meter loading it, each step waiting for a screen.
struct DemoStep {
  enum class Do { Nothing, Insert, Pull, Press, Pay, Meter } what = Do::Nothing;
  std::string arg;
  int value = 0;
  std::string until;  // screen to reach before the next step
};

std::vector<DemoStep> demoScript() {
  using D = DemoStep::Do;
  return {
      {D::Nothing, "", 0, "attract"},
      {D::Insert, "normal", 0, "account"},
      {D::Press, "topup", 0, "amount"},
      {D::Press, "digit", 5, "amount"},
      {D::Press, "digit", 0, "amount"},
      {D::Press, "confirm", 0, "pay"},
      {D::Pay, "", 0, "done"},
      {D::Pull, "", 0, "attract"},
      {D::Meter, "normal", 0, "attract"},
      {D::Insert, "normal", 0, "account"},
      {D::Pull, "", 0, "attract"},
  };
}

}  // namespace

int runLive(LiveContext c) {
  auto& window = c.window;
  auto& runtime = c.runtime;
  const auto& options = c.options;
  Lang lang = options.lang;
  ui::LayoutProbe probe;
  FirstFrameLog firstFrame;
  Maintenance maintenance(runtime, c.simulation != nullptr);
  HiddenGesture gesture;
  std::string panelStatus;
  platform::SystemClock systemClock;
  const platform::Clock& shownClock = c.simulation != nullptr ? c.simulation->clock() : systemClock;

  runtime.queue().setListener([] { platform::Window::wake(); });
  runtime.setTrace([](const std::string&) {});

  // Demo state.
  const bool demo = options.demo && c.simulation != nullptr;
  const auto script = demoScript();
  std::size_t demoStep = 0;
  bool demoActed = false;
  auto demoSince = Steady::now();
  int shots = 0;
  std::string lastShot;
  // Where each screen is written as it appears: the demo's folder, or --shots.
  const std::string shotsDir = demo ? options.demoDir : options.shotsDir;
  if (!shotsDir.empty()) std::filesystem::create_directories(shotsDir);

  int framesToDraw = kFramesPerChange;
  int framesOnScreen = 0;
  std::string lastScreen;
  bool restart = false;

  while (!window.quitRequested() && !restart) {
    auto shownScreen = [&] {
      return maintenance.mode() == Maintenance::Mode::Off ? runtime.screen() : maintenance.screenName();
    };
    const bool shotPending = !shotsDir.empty() && shownScreen() != lastShot;
    if (framesToDraw == 0 && !demo && !shotPending) {
      auto wait = untilNextMinute(shownClock);
      if (const auto tick = runtime.tickDue()) wait = std::min(wait, std::max(*tick, 1ms));
      if (maintenance.mode() != Maintenance::Mode::Off) wait = std::min<std::chrono::milliseconds>(wait, 1s);
      window.waitEvents(wait);
      framesToDraw = kFramesPerChange;
    } else {
      window.waitEvents(demo ? 5ms : 0ms);
    }
    // Each screen is captured before the flow may move on.
    if (!shotPending && runtime.poll()) framesToDraw = kFramesPerChange;
    const Millis now = steadyMillis();

    for (const auto& [x, y] : window.takePresses()) {
      if (maintenance.mode() == Maintenance::Mode::Off && runtime.screen() == "attract" &&
          gesture.tap(x, y, now)) {
        maintenance.openPinPad();
      }
    }
    // A staff card in the reader opens the dashboard.
    if (maintenance.noticeCard(runtime.state().cardNumber)) framesToDraw = kFramesPerChange;

    const std::string current = shownScreen();
    const auto screen = [&](ui::Ui& ui) -> ui::Intent {
      switch (maintenance.mode()) {
        case Maintenance::Mode::Off: {
          const auto config = runtime.engine().config();
          return drawFlow(ui, runtime.state(), {config ? config->kioskId : options.kioskId,
                                                localClock(shownClock), c.simulation != nullptr});
        }
        case Maintenance::Mode::Pin: return ui::drawPinPad(ui, maintenance.pinView(now));
        case Maintenance::Mode::Dashboard: return ui::drawMaintenance(ui, maintenance.view(now));
      }
      return {};
    };
    const auto panel = [&](ui::Ui& ui) {
      if (drawSimulationPanel(ui, *c.simulation, runtime, panelStatus)) framesToDraw = kFramesPerChange;
    };
    const auto drawn = ui::drawFrame(window, c.atlas, c.strings, lang, probe, screen,
                                     c.simulation != nullptr && !demo ? std::function<void(ui::Ui&)>(panel)
                                                                      : std::function<void(ui::Ui&)>());
    const ui::Intent intent = drawn.intent;
    if (drawn.atlasGrew) {
      framesToDraw = kFramesPerChange;
      framesOnScreen = 0;
      continue;
    }
    if (framesToDraw > 0) --framesToDraw;
    if (current != lastScreen) {
      lastScreen = current;
      framesOnScreen = 0;
    }
    ++framesOnScreen;

    if (intent.kind == Kind::SwitchLanguage) {
      lang = otherLang(lang);
      framesToDraw = kFramesPerChange;
    } else if (intent.kind != Kind::None) {
      framesToDraw = kFramesPerChange;
      if (maintenance.mode() != Maintenance::Mode::Off) {
        restart = maintenance.handle(intent, now);
      } else {
        runtime.press(intent.kind, intent.value);
      }
    }

    if (!options.screenshot.empty() && framesOnScreen >= kFramesPerChange) {
      return writeScreenshot(window.capture(), probe, options.screenshot, current, lang) ? 0 : 1;
    }
    if (!shotsDir.empty() && current != lastShot && framesOnScreen >= kFramesPerChange) {
      std::string file = current;
      std::replace(file.begin(), file.end(), ':', '_');
      char prefix[16];  // room for any int: -O2 checks that snprintf cannot truncate
      std::snprintf(prefix, sizeof prefix, "%02d_", ++shots);
      const auto path = (std::filesystem::path(shotsDir) / (prefix + file + ".png")).string();
      if (!writeScreenshot(window.capture(), probe, path, current, lang)) return 1;
      lastShot = current;
    }
    if (demo) {
      const DemoStep& step = script[demoStep];
      if (!demoActed) {
        using D = DemoStep::Do;
        std::string problem;
        switch (step.what) {
          case D::Nothing: break;
          case D::Insert: problem = c.simulation->insert(step.arg); break;
          case D::Pull: c.simulation->pull(); break;
          case D::Press: {
            static const std::pair<const char*, Kind> kKeys[] = {
                {"topup", Kind::TopUp}, {"digit", Kind::Digit}, {"confirm", Kind::ConfirmAmount}};
            for (const auto& [name, kind] : kKeys) {
              if (step.arg == name) runtime.press(kind, step.value);
            }
            break;
          }
          case D::Pay: {
            const auto pay = runtime.lastPay();
            problem = pay ? c.simulation->answer(pay->payUrl, true) : "no order to pay";
            break;
          }
          case D::Meter: {
            auto report = c.simulation->useInMeter(step.arg, 1);
            if (!report) problem = report.error();
            else spdlog::info("demo: the meter loaded {} token(s)", report->tokensLoaded);
            break;
          }
        }
        if (!problem.empty()) {
          spdlog::error("demo: step {} failed: {}", demoStep + 1, problem);
          return 1;
        }
        demoActed = true;
        demoSince = Steady::now();
      }
      if (current == step.until && lastShot == current) {
        ++demoStep;
        demoActed = false;
        if (demoStep == script.size()) {
          spdlog::info("demo: finished, {} screenshots in {}", shots, options.demoDir);
          return 0;
        }
      } else if (Steady::now() - demoSince > kDemoStepTimeout) {
        spdlog::error("demo: step {} did not reach the {} screen (showing {})", demoStep + 1,
                      step.until, current);
        return 1;
      }
    }
    window.present();
    firstFrame.presented();
  }
  runtime.queue().setListener({});
  return restart ? kRestartExitCode : 0;
}

}  // namespace kiosk::app
