// kiosk-sim: the kiosk's own UI with everything it talks to simulated, to try it, demonstrate
// it and test it with no hardware: kiosk-cloud's code embedded on loopback, demo cards in a
// virtual reader (in process, or on vpcd for pcscd), their meters, and a panel. Also the
// headless driver (--headless) that runs scenario scripts against a real cloud with virtual
// cards on vpcd. No money moves through this program.

#include "kiosk/app.hpp"
#include "kiosk/cli.hpp"
#include "kiosk/sim/headless.hpp"
#include "kiosk/sim/sim_loop.hpp"
#include "kiosk/sim/simulation.hpp"
#include "kiosk/window_loop.hpp"
#include "platform/temp_dir.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <stdexcept>


namespace {

using namespace kiosk;

std::filesystem::path defaultStateDir() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && *state != '\0') {
    return std::filesystem::path(state) / "kiosk-simulation";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".local/state/kiosk-simulation";
  }
  return "kiosk-simulation";
}

// The simulation, the kiosk runtime on it, and the window loop with the panel or the demo.
int runSimulation(const app::UiParts& ui, const app::AppOptions& options,
                  sim::SimulationOptions simOptions, sim::SimLoop::Demo demo) {
  auto made = sim::Simulation::create(std::move(simOptions));
  if (!made) throw std::runtime_error("simulation: " + made.error());
  auto& simulation = **made;
  auto runtime = app::Runtime::create(simulation.runtimeOptions());
  if (!runtime) throw std::runtime_error(runtime.error());
  simulation.attach(runtime->get());
  (*runtime)->start();
  int code = 0;
  {
    sim::SimLoop loop(simulation, demo);
    code = app::runWindowLoop(
        {ui.window, ui.atlas, ui.strings, options, **runtime, &loop, ui.screenWidth});
  }
  simulation.pull();
  simulation.attach(nullptr);
  (*runtime)->stop();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kiosk::app;
  CommonCli options;
  options.app.simulate = true;
  options.app.panelColumn = true;
  std::string stateDir;
  bool demo = false;
  bool staffDemo = false;
  std::string demoDir = "demo-screenshots";
  std::string vpcd = "127.0.0.1:35963";
  bool headless = false;
  std::string script;

  CLI::App cli{"The recharge kiosk in simulation: no hardware, no money. The embedded cloud on "
               "loopback, demo cards and their meters, and a panel to insert cards, pay, cut "
               "the network and move time on."};
  cli.set_version_flag("--version", KIOSK_VERSION);
  addCommonOptions(cli, options);
  cli.add_option("--state-dir", stateDir,
                 "Folder for the embedded cloud's database, keys, card files and the journal "
                 "(default: $XDG_STATE_HOME/kiosk-simulation or ~/.local/state/...)");
  cli.add_flag("--demo", demo,
               "Perform a scripted top-up, write a screenshot of every screen into --demo-dir, "
               "and exit (0: the whole top-up went through)");
  cli.add_flag("--staff-demo", staffDemo,
               "Perform a scripted staff visit instead: the staff card opens maintenance, a "
               "resident card's reader test, exit, and the staff card again; screenshots into "
               "--demo-dir, and exit (0: every step went through)")
      ->excludes("--demo");
  cli.add_option("--demo-dir", demoDir, "Where --demo and --staff-demo write their screenshots")
      ->capture_default_str();
  cli.add_option("--reader", options.runtime.reader,
                 "\"local\" (default): an in-process reader; \"pcsc\": serve the demo cards on "
                 "vpcd and read them through pcscd; any other value: that PC/SC reader, with "
                 "the cards on vpcd");
  cli.add_option("--vpcd", vpcd,
                 "Where the cards are served for --reader pcsc and --headless (vpcd HOST:PORT)")
      ->capture_default_str();
  cli.add_flag("--headless", headless,
               "Run without a window against a real cloud, driven by --script, with virtual "
               "cards on vpcd (needs --cloud, --secret-file, --issuer-key)");
  cli.add_option("--script", script, "Scenario for --headless (see docs/operations.md)")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(cli, argc, argv);
  const auto demoKind = staffDemo ? kiosk::sim::SimLoop::Demo::Staff
                        : demo    ? kiosk::sim::SimLoop::Demo::TopUp
                                  : kiosk::sim::SimLoop::Demo::None;
  demo = demo || staffDemo;

  const auto colon = vpcd.rfind(':');
  int vpcdPort = 0;
  if (colon == std::string::npos || (vpcdPort = std::atoi(vpcd.c_str() + colon + 1)) <= 0 ||
      vpcdPort > 65535) {
    std::cerr << "--vpcd: expected HOST:PORT, got \"" << vpcd << "\"\n";
    return 2;
  }
  const std::string vpcdHost = vpcd.substr(0, colon);

  if (headless) {
    if (script.empty()) {
      std::cerr << "--headless needs --script\n";
      return 2;
    }
    if (!finishKioskOptions(options, "--headless")) return 2;
    if (!startLogging(options, "kiosk-sim")) return 2;
    kiosk::sim::HeadlessOptions run;
    run.runtime = options.runtime;
    run.script = script;
    run.vpcdHost = vpcdHost;
    run.vpcdPort = static_cast<std::uint16_t>(vpcdPort);
    return kiosk::sim::runHeadless(run, std::cout);
  }

  if (!finishDisplayOptions(options)) return 2;
  if (!startLogging(options, "kiosk-sim")) return 2;

  kiosk::sim::SimulationOptions simOptions;
  std::filesystem::path demoState;
  try {
    if (!stateDir.empty()) {
      simOptions.stateDir = stateDir;
    } else if (demo) {
      // A fresh folder for each demo run, so each starts from the same demo data.
      demoState = kiosk::platform::makeTempDir("kiosk-demo-");
      simOptions.stateDir = demoState;
    } else {
      simOptions.stateDir = defaultStateDir();
    }
  } catch (const std::exception& e) {
    std::cerr << "kiosk-sim: " << e.what() << "\n";
    return 1;
  }
  const auto& reader = options.runtime.reader;
  simOptions.pcsc = !reader.empty() && reader != "local";
  if (simOptions.pcsc && reader != "pcsc") simOptions.reader = reader;
  simOptions.vpcdHost = vpcdHost;
  simOptions.vpcdPort = static_cast<std::uint16_t>(vpcdPort);
  if (demo) options.app.shotsDir = demoDir;

  return runProgram(
      "kiosk-sim", argv,
      [&] {
        return runUi(options.app, [&](const UiParts& ui) {
          return runSimulation(ui, options.app, simOptions, demoKind);
        });
      },
      [&] {
        if (demoState.empty()) return;
        std::error_code ignored;
        std::filesystem::remove_all(demoState, ignored);
      });
}
