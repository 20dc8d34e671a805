// Real HTTP requests (libcurl) against the admin server on 127.0.0.1.
#include "common/admin/admin_server.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <asio.hpp>
#include <atomic>
#include <string>
#include <thread>

namespace kenc::admin {
namespace {

struct HttpReply {
  long status = 0;
  std::string body;
  std::string headers;
};

size_t append_to_string(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

HttpReply http(uint16_t port, const std::string& path, const char* method = "GET",
               const std::string& extra_header = {}) {
  HttpReply reply;
  CURL* curl = curl_easy_init();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  if (std::string(method) == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_to_string);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append_to_string);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_slist* headers = nullptr;
  if (!extra_header.empty()) {
    headers = curl_slist_append(headers, extra_header.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  CURLcode rc = curl_easy_perform(curl);
  EXPECT_EQ(rc, CURLE_OK) << curl_easy_strerror(rc) << " for " << url;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return reply;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.counter("kenc_test_requests_total", "Requests.").inc(41);
    AdminServerOptions options;
    options.request_timeout = std::chrono::milliseconds(300);
    options.max_request_bytes = 2048;
    server_ = std::make_unique<AdminServer>(options, registry_, [this] { return ready_.load(); });
    Status started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error().to_string();
    ASSERT_NE(server_->port(), 0);
  }

  MetricsRegistry registry_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<AdminServer> server_;
};

TEST_F(AdminServerTest, ServesMetrics) {
  auto reply = http(server_->port(), "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("kenc_test_requests_total 41\n"), std::string::npos) << reply.body;
  EXPECT_NE(reply.headers.find("text/plain; version=0.0.4"), std::string::npos) << reply.headers;
  registry_.counter("kenc_later_total", "Registered after start.").inc();
  EXPECT_NE(http(server_->port(), "/metrics?x=1").body.find("kenc_later_total 1\n"),
            std::string::npos);
}

TEST_F(AdminServerTest, LivenessAndReadiness) {
  EXPECT_EQ(http(server_->port(), "/livez").status, 200);
  auto not_ready = http(server_->port(), "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "not ready\n");
  ready_ = true;
  auto ready = http(server_->port(), "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready\n");
}

TEST_F(AdminServerTest, UnknownPathsAndMethods) {
  EXPECT_EQ(http(server_->port(), "/").status, 404);
  EXPECT_EQ(http(server_->port(), "/metricsx").status, 404);
  EXPECT_EQ(http(server_->port(), "/metrics", "POST").status, 405);
  EXPECT_EQ(http(server_->port(), "/metrics", "DELETE").status, 405);
  auto head = http(server_->port(), "/livez", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(AdminServerTest, OversizedRequestGets431) {
  auto reply = http(server_->port(), "/metrics", "GET", "X-Big: " + std::string(4000, 'a'));
  EXPECT_EQ(reply.status, 431);
}

// A client that connects and sends nothing is disconnected after the request timeout, and
// the server keeps serving others meanwhile.
TEST_F(AdminServerTest, SilentClientIsDisconnected) {
  asio::io_context io;
  asio::ip::tcp::socket silent(io);
  silent.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  EXPECT_EQ(http(server_->port(), "/livez").status, 200);
  char byte;
  std::error_code ec;
  size_t n = silent.read_some(asio::buffer(&byte, 1), ec);  // blocks until the server closes
  EXPECT_EQ(n, 0u);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
}

TEST_F(AdminServerTest, GarbageRequestLineGets400) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  asio::write(socket, asio::buffer(std::string("BLAH\r\n\r\n")));
  std::string reply;
  std::error_code ec;
  asio::read(socket, asio::dynamic_buffer(reply), ec);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 ", 0), 0u) << reply;
}

// Beyond max_connections, new connections are closed at once; service resumes when the
// occupying connection goes away.
TEST(AdminServer, CapsOpenConnections) {
  MetricsRegistry registry;
  AdminServerOptions options;
  options.max_connections = 1;
  options.request_timeout = std::chrono::milliseconds(300);
  AdminServer server(options, registry, nullptr);
  ASSERT_TRUE(server.start().ok());

  asio::io_context io;
  asio::ip::tcp::socket occupier(io);
  occupier.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  asio::ip::tcp::socket refused(io);
  refused.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  asio::write(refused, asio::buffer(std::string("GET /livez HTTP/1.1\r\n\r\n")));
  std::string reply;
  std::error_code ec;
  asio::read(refused, asio::dynamic_buffer(reply), ec);
  EXPECT_TRUE(reply.empty()) << "the second connection must be closed unanswered: " << reply;

  occupier.close();
  // The server notices the close on its next read; retry until it has.
  long status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    CURL* curl = curl_easy_init();
    std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/livez";
    std::string body;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_to_string);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (curl_easy_perform(curl) == CURLE_OK) {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    curl_easy_cleanup(curl);
  }
  EXPECT_EQ(status, 200);
}

TEST(AdminServer, ReportsBindFailuresAsErrors) {
  MetricsRegistry registry;
  AdminServer first({}, registry, nullptr);
  ASSERT_TRUE(first.start().ok());
  AdminServerOptions taken;
  taken.port = first.port();
  AdminServer second(taken, registry, nullptr);
  Status s = second.start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  AdminServerOptions bad;
  bad.address = "not-an-ip";
  AdminServer third(bad, registry, nullptr);
  EXPECT_EQ(third.start().error().code, ErrorCode::kInvalidArgument);
  first.stop();
  first.stop();  // idempotent
}

}  // namespace
}  // namespace kenc::admin
