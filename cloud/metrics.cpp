#include "cloud/metrics.hpp"

namespace kiosk::cloud {

std::string Metrics::render() const {
  std::lock_guard lock(m_mutex);
  std::string out;
  out += "# HELP kiosk_cloud_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE kiosk_cloud_http_requests_total counter\n";
  for (const auto& [key, value] : m_requests) {
    out += "kiosk_cloud_http_requests_total{route=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(value) + "\n";
  }
  out += "# HELP kiosk_cloud_http_request_seconds Time spent answering, by route.\n";
  out += "# TYPE kiosk_cloud_http_request_seconds summary\n";
  for (const auto& [route, value] : m_latency) {
    out += "kiosk_cloud_http_request_seconds_sum{route=\"" + route + "\"} " +
           std::to_string(value.first) + "\n";
    out += "kiosk_cloud_http_request_seconds_count{route=\"" + route + "\"} " +
           std::to_string(value.second) + "\n";
  }
  std::string last;
  for (const auto& [key, value] : m_counters) {
    if (key.first != last) {
      out += "# TYPE " + key.first + " counter\n";
      last = key.first;
    }
    out += key.first;
    if (!key.second.empty()) out += "{" + key.second + "}";
    out += " " + std::to_string(value) + "\n";
  }
  out += "# TYPE kiosk_cloud_long_polls_waiting gauge\n";
  out += "kiosk_cloud_long_polls_waiting " + std::to_string(m_waiting.load()) + "\n";
  return out;
}

}  // namespace kiosk::cloud
