#pragma once
// A new private folder under the system's temporary directory (demo runs, tests).

#include <filesystem>
#include <string_view>

namespace kiosk::platform {

// "<tmp>/<prefix>XXXXXX" created with mode 0700. Throws std::system_error when it cannot be made.
std::filesystem::path makeTempDir(std::string_view prefix);

}  // namespace kiosk::platform
