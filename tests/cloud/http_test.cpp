// kiosk-cloud's HTTP layer in-process, over real HTTP: the answers it makes by itself, for
// routes written to fail.

#include "cloud/http_layer.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <thread>

namespace kiosk::cloud {
namespace {

class ListeningServer {
 public:
  ListeningServer() {
    m_server.route("GET", "/throws", [](http::Request&, http::Responder) {
      throw std::runtime_error("db password=hunter2\r\nX-Injected: yes");
    });
    m_server.route("GET", "/throws-anything", [](http::Request&, http::Responder) { throw 42; });
    m_port = m_server.bind();
    m_thread = std::thread([this] { m_server.run(); });
  }
  ~ListeningServer() {
    m_server.stop();
    m_thread.join();
  }
  ListeningServer(const ListeningServer&) = delete;
  ListeningServer& operator=(const ListeningServer&) = delete;
  int port() const { return m_port; }

 private:
  http::Server m_server{http::ServerOptions{}};
  int m_port = 0;
  std::thread m_thread;
};

std::string codeOf(const httplib::Result& reply) {
  const auto body = nlohmann::json::parse(reply->body, nullptr, false);
  if (!body.is_object() || !body.contains("error")) return "";
  return body["error"].value("code", "");
}

// A kiosk retries INTERNAL; it must not be told "no such endpoint", nor be shown the text of
// the exception (in a header or anywhere).
TEST(HttpErrorReplies, AnExceptionInAHandlerIsAnInternalErrorWithoutItsText) {
  ListeningServer listening;
  httplib::Client client("127.0.0.1", listening.port());
  for (const char* path : {"/throws", "/throws-anything"}) {
    auto reply = client.Get(path);
    ASSERT_TRUE(reply) << path;
    EXPECT_EQ(reply->status, 500) << path;
    EXPECT_EQ(codeOf(reply), "INTERNAL") << reply->body;
    EXPECT_FALSE(reply->has_header("EXCEPTION_WHAT")) << path;
    EXPECT_FALSE(reply->has_header("X-Injected")) << path;
    EXPECT_EQ(reply->body.find("hunter2"), std::string::npos) << reply->body;
  }
  auto nowhere = client.Get("/nowhere");
  ASSERT_TRUE(nowhere);
  EXPECT_EQ(nowhere->status, 404);
  EXPECT_EQ(codeOf(nowhere), "NOT_FOUND");
}

}  // namespace
}  // namespace kiosk::cloud
