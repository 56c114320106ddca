#include "kiosk/sim/network_link.hpp"

#include <stdexcept>

namespace kiosk::sim {

namespace {

void breakConnection(httplib::Response& res) {
  // The status line goes out, then the body stops: the client sees the link drop mid-answer.
  res.status = 200;
  res.set_chunked_content_provider("application/json",
                                   [](std::size_t, httplib::DataSink&) { return false; });
}

}  // namespace

NetworkLink::NetworkLink(int upstreamPort) : m_upstream(upstreamPort) {
  m_server.new_task_queue = [] { return new httplib::ThreadPool(48); };
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  m_server.Get(".*", handler);
  m_server.Post(".*", handler);
  m_port = m_server.bind_to_any_port("127.0.0.1");
  if (m_port <= 0) throw std::runtime_error("the simulated network link cannot listen on loopback");
  m_thread = std::thread([this] { m_server.listen_after_bind(); });
  while (!m_server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

NetworkLink::~NetworkLink() {
  setStalled(false);
  m_server.stop();
  if (m_thread.joinable()) m_thread.join();
}

void NetworkLink::setUpstream(int port) { m_upstream = port; }

void NetworkLink::cutNext(const std::string& method, const std::string& pathPattern, Cut cut, int times) {
  std::lock_guard lock(m_mutex);
  m_rules.push_back({method, std::regex(pathPattern), cut, times});
}

void NetworkLink::setDown(bool down) { m_down = down; }

void NetworkLink::setStalled(bool stalled) {
  {
    std::lock_guard lock(m_mutex);
    m_stalled = stalled;
  }
  m_released.notify_all();
}

int NetworkLink::stalledRequests() const {
  std::lock_guard lock(m_mutex);
  return m_waiting;
}

std::vector<std::string> NetworkLink::seen() const {
  std::lock_guard lock(m_mutex);
  return m_seen;
}

std::optional<NetworkLink::Cut> NetworkLink::takeCut(const std::string& method, const std::string& path) {
  std::lock_guard lock(m_mutex);
  m_seen.push_back(method + " " + path);
  for (auto& rule : m_rules) {
    if (rule.times > 0 && rule.method == method && std::regex_search(path, rule.pattern)) {
      --rule.times;
      return rule.cut;
    }
  }
  return std::nullopt;
}

void NetworkLink::handle(const httplib::Request& req, httplib::Response& res) {
  {
    std::unique_lock lock(m_mutex);
    if (m_stalled) {
      ++m_waiting;
      m_released.wait(lock, [this] { return !m_stalled; });
      --m_waiting;
    }
  }
  auto cut = takeCut(req.method, req.path);
  if (m_down) cut = Cut::BeforeForward;
  if (cut == Cut::BeforeForward) {
    ++m_cutsDone;
    breakConnection(res);
    return;
  }
  httplib::Client upstream("127.0.0.1", m_upstream.load());
  upstream.set_read_timeout(std::chrono::seconds(90));
  upstream.set_connection_timeout(std::chrono::seconds(5));
  httplib::Headers headers;
  for (const auto& [name, value] : req.headers) {
    if (name == "Host" || name == "Content-Length" || name == "Connection" || name == "Content-Type" ||
        name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
        name == "LOCAL_PORT") {
      continue;
    }
    headers.emplace(name, value);
  }
  // The signature covers the target exactly as the kiosk sent it.
  const std::string contentType = req.get_header_value("Content-Type");
  auto answer = req.method == "GET" ? upstream.Get(req.target.c_str(), headers)
                                    : upstream.Post(req.target.c_str(), headers, req.body,
                                                    contentType.empty() ? "application/json" : contentType.c_str());
  if (!answer) {
    res.status = 502;
    res.set_content("{\"error\":{\"code\":\"UNAVAILABLE\",\"message\":\"upstream down\"}}",
                    "application/json");
    return;
  }
  if (cut == Cut::AfterForward || m_down) {
    ++m_cutsDone;
    breakConnection(res);
    return;
  }
  res.status = answer->status;
  for (const auto& [name, value] : answer->headers) {
    if (name == "ETag") res.set_header(name.c_str(), value);
  }
  res.set_content(answer->body, answer->get_header_value("Content-Type").c_str());
}

}  // namespace kiosk::sim
