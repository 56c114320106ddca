#pragma once
// kiosk-cloud's counters for /metrics, in Prometheus text format: requests and their time by
// route, named counters (orders, payments, refunds...), and the long polls waiting.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace kiosk::cloud {

// Counters for /metrics, in Prometheus text format.
class Metrics {
 public:
  void request(const std::string& route, int status, double seconds) {
    std::lock_guard lock(m_mutex);
    ++m_requests[{route, status}];
    auto& latency = m_latency[route];
    latency.first += seconds;
    ++latency.second;
  }
  void count(const std::string& name, const std::string& label = {}) {
    std::lock_guard lock(m_mutex);
    ++m_counters[{name, label}];
  }
  void waiting(int delta) { m_waiting += delta; }

  // The whole text of /metrics.
  std::string render() const;

 private:
  mutable std::mutex m_mutex;
  std::map<std::pair<std::string, int>, std::uint64_t> m_requests;
  std::map<std::string, std::pair<double, std::uint64_t>> m_latency;
  std::map<std::pair<std::string, std::string>, std::uint64_t> m_counters;
  std::atomic<int> m_waiting{0};
};

}  // namespace kiosk::cloud
