// The admin server on a real loopback socket, driven by a Beast client from the test thread while
// the server's io_context runs on its own thread.

#include "proxy/admin/admin_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>  // before any asio header (Boost 1.74 + gcc 12)

namespace ghostgate::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Runs an io_context on a thread for the duration of a test.
class Loop {
 public:
  Loop() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~Loop() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

struct Reply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
  std::string allow;
  std::string content_length;
  bool keep_alive = false;
};

// A blocking client connection with a receive timeout, so a broken server fails the test
// instead of hanging it.
class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  void send(http::verb verb, const std::string& target, bool keep_alive = true) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(keep_alive);
    if (verb == http::verb::post) {
      req.body() = "x=1";
      req.prepare_payload();
    }
    http::write(socket_, req);
  }

  void send_raw(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

  Reply receive(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);  // a response to HEAD has headers only
    http::read(socket_, buffer_, parser);
    const auto& res = parser.get();
    Reply r;
    r.status = res.result_int();
    r.body = res.body();
    r.content_type = std::string(res[http::field::content_type]);
    r.allow = std::string(res[http::field::allow]);
    r.content_length = std::string(res[http::field::content_length]);
    r.keep_alive = res.keep_alive();
    return r;
  }

  Reply request(http::verb verb, const std::string& target, bool keep_alive = true) {
    send(verb, target, keep_alive);
    return receive(verb == http::verb::head);
  }

  // What the next read gives: an error code once the server has closed the connection.
  beast::error_code read_error() {
    http::response_parser<http::string_body> parser;
    beast::error_code ec;
    http::read(socket_, buffer_, parser, ec);
    return ec;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

Reply get(std::uint16_t port, const std::string& target) {
  Client c(port);
  return c.request(http::verb::get, target, false);
}

AdminCallbacks test_callbacks() {
  AdminCallbacks cbs;
  cbs.readyz = [] { return std::pair<bool, std::string>{true, ""}; };
  cbs.metrics = [] { return std::string("ghostgate_up 1\n"); };
  cbs.online_ddl = [] { return std::string(R"({"ghosts":[]})"); };
  return cbs;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void start(AdminCallbacks cbs = test_callbacks(), AdminServerOptions options = {}) {
    server_.emplace(loop_.io(), HostPort{"127.0.0.1", 0}, std::move(cbs), options);
    server_->start();
    port_ = server_->port();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      server_.reset();
    }
  }

  Loop loop_;
  std::optional<AdminServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(AdminServerTest, Healthz) {
  start();
  const Reply r = get(port_, "/healthz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
}

TEST_F(AdminServerTest, ReadyzReadyAndNotReady) {
  start();
  Reply r = get(port_, "/readyz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "ready\n");

  AdminCallbacks cbs = test_callbacks();
  cbs.readyz = [] { return std::pair<bool, std::string>{false, "backend 127.0.0.1:4000 down"}; };
  server_->set_callbacks(cbs);  // replaced while running
  r = get(port_, "/readyz");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.body, "not ready: backend 127.0.0.1:4000 down\n");
}

TEST_F(AdminServerTest, Metrics) {
  start();
  const Reply r = get(port_, "/metrics");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "ghostgate_up 1\n");
  EXPECT_NE(r.content_type.find("text/plain; version=0.0.4"), std::string::npos);
}

TEST_F(AdminServerTest, MetricsDefaultToTheProcessRegistry) {
  start(AdminCallbacks{});
  const Reply r = get(port_, "/metrics");
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("# TYPE ghostgate_statements_total counter"), std::string::npos);
  // No readiness check configured: ready. No online-DDL source: not found.
  EXPECT_EQ(get(port_, "/readyz").status, 200u);
  EXPECT_EQ(get(port_, "/online-ddl").status, 404u);
}

TEST_F(AdminServerTest, OnlineDdl) {
  start();
  const Reply r = get(port_, "/online-ddl");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "{\"ghosts\":[]}\n");
  EXPECT_EQ(r.content_type, "application/json");
}

TEST_F(AdminServerTest, UnknownPathIs404AndQueryIsIgnored) {
  start();
  EXPECT_EQ(get(port_, "/").status, 404u);
  EXPECT_EQ(get(port_, "/healthz/x").status, 404u);
  EXPECT_EQ(get(port_, "/metricsx").status, 404u);
  EXPECT_EQ(get(port_, "/healthz?verbose=1").status, 200u);
}

TEST_F(AdminServerTest, OtherMethodsAre405) {
  start();
  for (const http::verb verb : {http::verb::post, http::verb::put, http::verb::delete_}) {
    Client c(port_);
    const Reply r = c.request(verb, "/healthz", false);
    EXPECT_EQ(r.status, 405u) << http::to_string(verb);
    EXPECT_EQ(r.allow, "GET, HEAD");
  }
}

TEST_F(AdminServerTest, HeadHasHeadersOnly) {
  start();
  Client c(port_);
  const Reply head = c.request(http::verb::head, "/online-ddl");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.content_length, "14");  // as the GET body
  EXPECT_EQ(head.content_type, "application/json");
  // The connection is still in sync: a GET after the HEAD gets its own answer.
  const Reply body = c.request(http::verb::get, "/online-ddl");
  EXPECT_EQ(body.body.size(), 14u);
}

TEST_F(AdminServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  start();
  Client c(port_);
  for (int i = 0; i < 5; ++i) {
    const Reply r = c.request(http::verb::get, i % 2 ? "/healthz" : "/metrics");
    EXPECT_EQ(r.status, 200u);
    EXPECT_TRUE(r.keep_alive);
  }
  const Reply last = c.request(http::verb::get, "/healthz", false);
  EXPECT_FALSE(last.keep_alive);
  EXPECT_TRUE(c.read_error());  // closed by the server after "Connection: close"
}

TEST_F(AdminServerTest, ThrowingCallbackIs500AndServerLivesOn) {
  AdminCallbacks cbs = test_callbacks();
  cbs.online_ddl = []() -> std::string { throw std::runtime_error("registry gone"); };
  start(cbs);
  const Reply r = get(port_, "/online-ddl");
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.body, "internal error: registry gone\n");
  EXPECT_EQ(get(port_, "/healthz").status, 200u);
}

TEST_F(AdminServerTest, OversizedHeadersAre431) {
  start(test_callbacks(), AdminServerOptions{.max_header_bytes = 1024});
  Client c(port_);
  c.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  const Reply r = c.receive();
  EXPECT_EQ(r.status, 431u);
  EXPECT_TRUE(c.read_error());
}

TEST_F(AdminServerTest, OversizedBodyIs413) {
  start(test_callbacks(), AdminServerOptions{.max_body_bytes = 16});
  Client c(port_);
  c.send_raw("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" +
             std::string(100, 'b'));
  EXPECT_EQ(c.receive().status, 413u);
}

TEST_F(AdminServerTest, GarbageIs400) {
  start();
  Client c(port_);
  c.send_raw("HELLO\x01 there\r\n\r\n");
  EXPECT_EQ(c.receive().status, 400u);
  EXPECT_TRUE(c.read_error());
}

TEST_F(AdminServerTest, IdleConnectionIsClosedByTheServer) {
  start(test_callbacks(), AdminServerOptions{.io_timeout = 100ms});
  Client c(port_);
  EXPECT_EQ(c.request(http::verb::get, "/healthz").status, 200u);
  // Send nothing more. The server's deadline ends the connection; the client's own 5 s receive
  // timeout would give a different error (would_block / timed out).
  const beast::error_code ec = c.read_error();
  EXPECT_TRUE(ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
              ec == asio::error::eof)
      << ec.message();
}

TEST_F(AdminServerTest, SlowPartialRequestIsCutOff) {
  start(test_callbacks(), AdminServerOptions{.io_timeout = 100ms});
  Client c(port_);
  c.send_raw("GET /healthz HTTP/1.1\r\nHost:");  // and never the rest
  const beast::error_code ec = c.read_error();
  EXPECT_TRUE(ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
              ec == asio::error::eof)
      << ec.message();
}

TEST_F(AdminServerTest, ConnectionsBeyondTheCapAreClosed) {
  start(test_callbacks(), AdminServerOptions{.max_connections = 1});
  Client first(port_);
  EXPECT_EQ(first.request(http::verb::get, "/healthz").status, 200u);  // registered now
  Client second(port_);
  beast::error_code ec;
  try {
    second.send(http::verb::get, "/healthz");
  } catch (const beast::system_error& e) {
    ec = e.code();
  }
  if (!ec) {
    ec = second.read_error();
  }
  EXPECT_TRUE(ec) << "second connection was served";
  // The first is unaffected.
  EXPECT_EQ(first.request(http::verb::get, "/healthz").status, 200u);
}

TEST_F(AdminServerTest, StopClosesListenerAndOpenConnections) {
  start();
  Client c(port_);
  EXPECT_EQ(c.request(http::verb::get, "/healthz").status, 200u);
  server_->stop();
  EXPECT_TRUE(c.read_error());
  beast::error_code ec;
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  EXPECT_TRUE(ec) << "still accepting after stop()";
  server_->stop();  // twice is fine
}

TEST_F(AdminServerTest, PortTakenIsAClearError) {
  start();
  AdminServer second(loop_.io(), HostPort{"127.0.0.1", port_});
  try {
    second.start();
    FAIL() << "second server bound the same port";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("admin: cannot listen on 127.0.0.1:" + std::to_string(port_)),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("in use"), std::string::npos) << what;
  }
}

TEST_F(AdminServerTest, HostNamesAreResolved) {
  AdminServer s(loop_.io(), HostPort{"localhost", 0}, test_callbacks());
  s.start();
  EXPECT_NE(s.port(), 0);
  s.stop();
}

}  // namespace
}  // namespace ghostgate::proxy
