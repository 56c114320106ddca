#pragma once
// The network between the kiosk and its cloud, as simulation mode and the integration tests
// have it: an HTTP proxy that can cut the link: the next request
// to an endpoint is dropped before it reaches the cloud or after the cloud handled it (its
// answer lost on the way back), or every request fails while the network is "down". The
// connection breaks mid-answer, as a dropped link does. A stalled link holds every request,
// unanswered, until it is released: a cloud that is reachable but does not answer.

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace kiosk::sim {

class NetworkLink {
 public:
  enum class Cut { BeforeForward, AfterForward };

  explicit NetworkLink(int upstreamPort);
  ~NetworkLink();
  NetworkLink(const NetworkLink&) = delete;
  NetworkLink& operator=(const NetworkLink&) = delete;

  int port() const { return m_port; }
  void setUpstream(int port);
  // The next `times` requests with this method and a path matching `pathPattern` (a regular
  // expression, searched) are cut.
  void cutNext(const std::string& method, const std::string& pathPattern, Cut cut, int times = 1);
  // While down, every request is cut before it reaches the cloud.
  void setDown(bool down);
  bool down() const { return m_down; }
  // While stalled, requests wait unanswered; released, they go on to the cloud.
  void setStalled(bool stalled);
  // Requests waiting on the stall right now.
  int stalledRequests() const;
  int cutsDone() const { return m_cutsDone; }
  // "POST /v1/kiosk/orders" for every request seen, in order.
  std::vector<std::string> seen() const;

 private:
  struct Rule {
    std::string method;
    std::regex pattern;
    Cut cut;
    int times;
  };
  void handle(const httplib::Request& req, httplib::Response& res);
  std::optional<Cut> takeCut(const std::string& method, const std::string& path);

  httplib::Server m_server;
  std::thread m_thread;
  int m_port = 0;
  std::atomic<int> m_upstream;
  std::atomic<bool> m_down{false};
  std::atomic<int> m_cutsDone{0};
  mutable std::mutex m_mutex;
  std::condition_variable m_released;
  bool m_stalled = false;
  int m_waiting = 0;
  std::vector<Rule> m_rules;
  std::vector<std::string> m_seen;
};

}  // namespace kiosk::sim
