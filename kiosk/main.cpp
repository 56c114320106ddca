// kiosk: the self-service recharge kiosk for prepaid utility IC cards. Production: its cloud,
// its credentials, a PC/SC reader. The simulator with demo cards and an embedded cloud is the
// separate program kiosk-sim.

#include "kiosk/app.hpp"
#include "kiosk/cli.hpp"
#include "kiosk/window_loop.hpp"


#include <iostream>

int main(int argc, char** argv) {
  using namespace kiosk::app;
  CommonCli options;
  bool simulate = false;

  CLI::App cli{"Self-service recharge kiosk for prepaid electricity and water IC cards."};
  cli.set_version_flag("--version", KIOSK_VERSION);
  addCommonOptions(cli, options);
  cli.add_option("--reader", options.runtime.reader, "PC/SC reader (default: the first one)");
  cli.add_flag("--simulate", simulate,
               "Not in this program: simulation mode is the separate program kiosk-sim")
      ->group("");
  CLI11_PARSE(cli, argc, argv);

  if (simulate) {
    std::cerr << "kiosk: simulation mode is the program kiosk-sim, beside this one "
                 "(build/*/kiosk/kiosk-sim in a build tree); it takes the same options "
                 "and --simulate's own\n";
    return 2;
  }
  if (!finishDisplayOptions(options)) return 2;
  const bool gallery = !options.app.screen.empty() || !options.app.galleryDir.empty();
  if (!gallery && !finishKioskOptions(options, "the kiosk")) return 2;
  if (!startLogging(options, "kiosk")) return 2;

  return runProgram("kiosk", argv, [&] {
    return runUi(options.app, gallery ? LiveRun{} : LiveRun{[&](const UiParts& ui) {
      return runKiosk(ui, options.app, options.runtime);
    }});
  });
}
