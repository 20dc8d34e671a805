#include "proxy/server/proxy_server.h"

#include <gtest/gtest.h>

#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <csignal>
#include <string>

#include "proxy/filter/filter_chain.h"
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

// Holds every ApiVersions response for 40 ms before passing it on, and forwards requests as
// they are.
class SlowResponseFilter final : public Filter {
 public:
  std::string_view name() const override { return "slow-response"; }
  bool handles_request(int16_t api_key, int16_t) const override { return api_key == 18; }
  bool handles_response(int16_t api_key, int16_t) const override { return api_key == 18; }
  asio::awaitable<RequestVerdict> on_request(const RequestContext&, Frame request) override {
    co_return ForwardRequest{std::move(request)};
  }
  asio::awaitable<Frame> on_response(const RequestContext& context, Frame response) override {
    asio::steady_timer timer(context.executor, 40ms);
    co_await timer.async_wait(asio::use_awaitable);
    co_return response;
  }
};

// The value of the sample `series` (metric name and labels) in a Prometheus exposition.
double sample_value(const std::string& exposition, const std::string& series) {
  const size_t at = exposition.find(series + " ");
  if (at == std::string::npos) {
    return -1;
  }
  return std::stod(exposition.substr(at + series.size() + 1));
}

TEST(ProxyServer, MeasuresTheTimeRequestsAndResponsesSpendInTheFilters) {
  FakeBroker broker(answer_with({1, 2, 3}));
  ProxyServerOptions options = options_for(broker.port());
  options.clusters.resize(1);
  options.clusters[0].filters = std::make_shared<FilterChain>(
      std::vector<std::shared_ptr<Filter>>{std::make_shared<SlowResponseFilter>()});
  ProxyServer server(options);
  ASSERT_TRUE(server.start().ok());
  Fd client = connect_loopback(server.port(0));
  for (int32_t id = 1; id <= 2; ++id) {
    ASSERT_TRUE(write_all(client.get(), request_frame(18, 0, id)));
    auto response = read_frame(client.get());
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(*response, response_frame(id, {1, 2, 3}));
  }
  const std::string metrics = http_get(server.admin_port(), "/metrics");
  const std::string request = "{api_key=\"18\",stage=\"request\"}";
  const std::string response = "{api_key=\"18\",stage=\"response\"}";
  EXPECT_EQ(sample_value(metrics, "kenc_proxy_filter_seconds_count" + request), 2) << metrics;
  EXPECT_EQ(sample_value(metrics, "kenc_proxy_filter_seconds_count" + response), 2) << metrics;
  // Each response waited 40 ms in the filter.
  EXPECT_GE(sample_value(metrics, "kenc_proxy_filter_seconds_sum" + response), 0.08) << metrics;
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
