#pragma once
// The headless driver: runs the resident flow and the transaction engine through a scenario
// read from a script, for tests, benchmarks and support. Virtual cards from card files are
// served through vpcd into pcscd, so the kiosk reads them as it reads real ones. The script
// language is described in docs/operations.md.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "kiosk/runtime.hpp"

namespace kiosk::sim {

using app::Runtime;
using app::RuntimeOptions;
using app::Intent;

struct HeadlessOptions {
  RuntimeOptions runtime;
  std::string script;             // path of the scenario
  std::string vpcdHost = "127.0.0.1";
  std::uint16_t vpcdPort = 35963;  // vpcd's first slot (Debian's /etc/reader.conf.d/vpcd)
};

// One parsed line: the command and its words.
struct ScriptLine {
  int number = 0;
  std::string command;
  std::vector<std::string> args;
};

// Parses a scenario; the error names the line.
Result<std::vector<ScriptLine>, std::string> parseScript(const std::string& text);

// Exit codes: 0 every line done, 1 startup failed, 2 the script is malformed, 3 an expectation
// was not met (the line and what was seen are printed).
int runHeadless(const HeadlessOptions& options, std::ostream& out);

}  // namespace kiosk::sim
