#pragma once
// A headless Chromium for tests, driven over the DevTools protocol on --remote-debugging-pipe:
// the pay page as a resident's phone shows it.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/cloud_fixture.hpp"
#include "platform/temp_dir.hpp"

extern char** environ;

namespace kiosk::cloud::test {

// A headless Chromium driven over the DevTools pipe: JSON messages, each ended by a NUL byte,
// written to the browser's fd 3 and read from its fd 4.
class Browser {
 public:
  using json = nlohmann::json;

  Browser() {
    int toBrowser[2];
    int fromBrowser[2];
    if (pipe(toBrowser) != 0 || pipe(fromBrowser) != 0) throw std::runtime_error("pipe failed");
    m_profile = platform::makeTempDir("kiosk-chromium-");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 3);
    posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 4);
    const std::string log = (m_profile / "chromium.log").string();
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    const std::string userData = "--user-data-dir=" + m_profile.string();
    std::vector<std::string> args{"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                  "--disable-quic", "--no-first-run", "--disable-background-networking",
                                  "--disable-component-update", "--disable-sync",
                                  "--remote-debugging-pipe", "--window-size=412,915", userData,
                                  "about:blank"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&m_pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start chromium");
    }
    posix_spawn_file_actions_destroy(&actions);
    close(toBrowser[0]);
    close(fromBrowser[1]);
    m_write = toBrowser[1];
    m_read = fromBrowser[0];
  }
  ~Browser() {
    if (m_pid > 0) {
      (void)send("Browser.close", json::object());
      for (int i = 0; i < 40; ++i) {
        if (waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
          m_pid = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (m_pid > 0) {
        kill(m_pid, SIGKILL);
        waitpid(m_pid, nullptr, 0);
      }
    }
    close(m_write);
    close(m_read);
    std::error_code ignored;
    std::filesystem::remove_all(m_profile, ignored);
  }
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  // Sends a command and returns its result (throws on a protocol error or after 20 s).
  json send(const std::string& method, const json& params, const std::string& session = "") {
    const int id = ++m_id;
    json message{{"id", id}, {"method", method}, {"params", params}};
    if (!session.empty()) message["sessionId"] = session;
    std::string text = message.dump();
    text.push_back('\0');
    if (write(m_write, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      throw std::runtime_error("cannot write to chromium");
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto end = m_buffer.find('\0');
      if (end != std::string::npos) {
        const auto reply = json::parse(m_buffer.substr(0, end), nullptr, false);
        m_buffer.erase(0, end + 1);
        if (reply.is_object() && reply.value("id", 0) == id) {
          if (reply.contains("error")) throw std::runtime_error(method + ": " + reply["error"].dump());
          return reply["result"];
        }
        continue;  // an event, or an answer to something else
      }
      pollfd fd{m_read, POLLIN, 0};
      if (::poll(&fd, 1, 200) <= 0) continue;
      char chunk[65536];
      const ssize_t got = read(m_read, chunk, sizeof chunk);
      if (got <= 0) throw std::runtime_error("chromium closed the pipe");
      m_buffer.append(chunk, static_cast<std::size_t>(got));
    }
    throw std::runtime_error("chromium did not answer " + method);
  }

  json evaluate(const std::string& session, const std::string& expression) {
    auto result = send("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}}, session);
    return result["result"].value("value", json(nullptr));
  }

  // Evaluates until the expression is truthy, for up to `seconds`.
  json waitFor(const std::string& session, const std::string& expression, int seconds = 15) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    json value;
    while (std::chrono::steady_clock::now() < deadline) {
      value = evaluate(session, expression);
      if (!value.is_null() && value != false && value != "") return value;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return value;
  }

 private:
  pid_t m_pid = -1;
  int m_write = -1;
  int m_read = -1;
  int m_id = 0;
  std::string m_buffer;
  std::filesystem::path m_profile;
};


// Opens `url` in a new tab and taps the element `selector` where it is drawn, as a finger
// would; returns the tab's session for further checks.
inline std::string tapInPage(Browser& browser, const std::string& url, const std::string& selector) {
  using nlohmann::json;
  const auto target = browser.send("Target.createTarget", {{"url", url}});
  const auto attached = browser.send("Target.attachToTarget",
                                     {{"targetId", target["targetId"]}, {"flatten", true}});
  const std::string session = attached["sessionId"];
  if (browser.waitFor(session, "document.readyState === 'complete' && !!document.querySelector('" +
                                   selector + "')") != true) {
    throw std::runtime_error("no " + selector + " on " + url);
  }
  const auto box = browser.evaluate(
      session, "(() => { const r = document.querySelector('" + selector +
                   "').getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()");
  for (const char* type : {"mousePressed", "mouseReleased"}) {
    browser.send("Input.dispatchMouseEvent", {{"type", type}, {"x", box["x"]}, {"y", box["y"]},
                                              {"button", "left"}, {"clickCount", 1}},
                 session);
  }
  return session;
}

}  // namespace kiosk::cloud::test
