#include "platform/log.hpp"

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace kiosk::platform {

namespace {

std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> recentSink() {
  static const auto sink = [] {
    return std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200);
  }();
  return sink;
}

}  // namespace

std::vector<std::string> recentLog(std::size_t lines) { return recentSink()->last_formatted(lines); }

void initLogging(const LogOptions& options) {
  const auto level = spdlog::level::from_str(options.level);
  // from_str maps anything it does not know to "off"; an operator who typed "dbug" wants an
  // error, not silence.
  if (level == spdlog::level::off && options.level != "off") {
    throw std::invalid_argument("unknown log level: " + options.level);
  }
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!options.file.empty()) {
    constexpr std::size_t kMaxBytes = 8U * 1024U * 1024U;
    constexpr std::size_t kFiles = 4;
    sinks.push_back(
        std::make_shared<spdlog::sinks::rotating_file_sink_mt>(options.file, kMaxBytes, kFiles));
  }
  sinks.push_back(recentSink());
  auto logger = std::make_shared<spdlog::logger>(options.name, sinks.begin(), sinks.end());
  logger->set_level(level);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v");
  recentSink()->set_pattern("%H:%M:%S %l %v");  // short lines for a screen
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace kiosk::platform
