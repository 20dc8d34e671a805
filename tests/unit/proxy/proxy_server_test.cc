#include "proxy/server/proxy_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

#include "proxy/server/run_until_signalled.h"
#include "tests/unit/proxy/test_sockets.h"

namespace kenc::proxy {
namespace {

using namespace kenc::proxy::testing;
using namespace std::chrono_literals;

std::string http_get(uint16_t port, const std::string& path) {
  Fd fd = connect_loopback(port);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  write_all(fd.get(), std::vector<uint8_t>(request.begin(), request.end()));
  std::string out;
  char buf[4096];
  while (readable(fd.get(), 5000)) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

ProxyServerOptions options_for(uint16_t broker_port) {
  ProxyServerOptions options;
  options.worker_threads = 2;
  VirtualClusterSpec spec;
  spec.name = "vc1";
  spec.listen = HostPort{"127.0.0.1", 0};
  spec.upstream_servers = {HostPort{"127.0.0.1", broker_port}};
  options.clusters.push_back(spec);
  spec.name = "vc2";
  options.clusters.push_back(spec);
  options.admin = admin::AdminServerOptions{};
  options.drain_timeout = 300ms;
  return options;
}

TEST(ProxyServer, ServesSeveralVirtualClustersAndCountsRequests) {
  FakeBroker broker(answer_with({1, 2, 3}));
  ProxyServer server(options_for(broker.port()));
  ASSERT_TRUE(server.start().ok());
  ASSERT_NE(server.port(0), server.port(1));
  for (size_t vc = 0; vc < 2; ++vc) {
    Fd client = connect_loopback(server.port(vc));
    ASSERT_TRUE(write_all(client.get(), request_frame(18, 0, 5)));
    auto response = read_frame(client.get());
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(*response, response_frame(5, {1, 2, 3}));
  }
  const std::string metrics = http_get(server.admin_port(), "/metrics");
  EXPECT_NE(metrics.find("kenc_proxy_requests_total{api_key=\"18\"} 2"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("kenc_proxy_connections_total 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("kenc_proxy_request_latency_seconds_count 2"), std::string::npos)
      << metrics;
  EXPECT_NE(http_get(server.admin_port(), "/readyz").find("200"), std::string::npos);
  EXPECT_NE(http_get(server.admin_port(), "/livez").find("200"), std::string::npos);
}

TEST(ProxyServer, DrainStopsAcceptingAndClosesLingeringConnectionsAfterTheTimeout) {
  FakeBroker broker(answer_with({}));
  ProxyServer server(options_for(broker.port()));
  ASSERT_TRUE(server.start().ok());
  const uint16_t port = server.port(0);
  Fd client = connect_loopback(port);
  ASSERT_TRUE(write_all(client.get(), request_frame(18, 0, 1)));
  ASSERT_TRUE(read_frame(client.get()).has_value());
  EXPECT_EQ(server.open_connections(), 1u);
  const auto start = std::chrono::steady_clock::now();
  server.drain();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 250ms) << "an open connection must get the drain timeout to finish";
  EXPECT_TRUE(peer_closed(client.get(), 2000));
  EXPECT_EQ(server.open_connections(), 0u);
  EXPECT_THROW(connect_loopback(port), std::runtime_error) << "still accepting after drain";
}

TEST(ProxyServer, DrainIsQuickWithoutConnections) {
  FakeBroker broker(answer_with({}));
  ProxyServer server(options_for(broker.port()));
  ASSERT_TRUE(server.start().ok());
  const auto start = std::chrono::steady_clock::now();
  server.drain();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 250ms);
}

TEST(ProxyServer, SigtermDrainsAndReturns) {
  FakeBroker broker(answer_with({}));
  ProxyServer server(options_for(broker.port()));
  ASSERT_TRUE(server.start().ok());
  Fd client = connect_loopback(server.port(0));
  ASSERT_TRUE(write_all(client.get(), request_frame(18, 0, 1)));
  ASSERT_TRUE(read_frame(client.get()).has_value());
  const int rc = run_until_signalled(server, [] { std::raise(SIGTERM); });
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(server.open_connections(), 0u);
  EXPECT_TRUE(peer_closed(client.get(), 2000));
}

TEST(ProxyServer, StartFailsNamingTheClusterWhenThePortIsTaken) {
  uint16_t taken = 0;
  Fd holder = listen_loopback(taken);
  ProxyServerOptions options = options_for(1);
  options.clusters[1].listen.port = taken;
  options.admin.reset();
  ProxyServer server(options);
  auto status = server.start();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("vc2"), std::string::npos) << status.error().message;
}

}  // namespace
}  // namespace kenc::proxy
