#include "proxy/config/proxy_config.h"

#include <gtest/gtest.h>

#include "common/config/config_error.h"

namespace kenc::proxy::config {
namespace {

using kenc::config::ConfigError;

ProxyConfig parse(const std::string& yaml) { return parse_proxy_config(YAML::Load(yaml)); }

// Parses `yaml` expecting a ConfigError whose key is `key`; returns the message.
std::string error_for(const std::string& yaml, const std::string& key) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), key) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError for key " << key;
  return "";
}

const char* kMinimal = R"(
virtual_clusters:
  - name: demo
    upstream: {bootstrap_servers: ["127.0.0.1:9092"]}
    gateway: {bootstrap: "127.0.0.1:19092"}
)";

TEST(ProxyConfig, MinimalConfigGetsDefaults) {
  auto c = parse(kMinimal);
  EXPECT_EQ(c.worker_threads, 0u);
  EXPECT_EQ(c.max_frame_bytes, 100 * 1024 * 1024);
  EXPECT_FALSE(c.admin.has_value());
  ASSERT_EQ(c.virtual_clusters.size(), 1u);
  const auto& vc = c.virtual_clusters[0];
  EXPECT_EQ(vc.name, "demo");
  ASSERT_EQ(vc.upstream_bootstrap_servers.size(), 1u);
  EXPECT_EQ(vc.upstream_bootstrap_servers[0].host, "127.0.0.1");
  EXPECT_EQ(vc.upstream_bootstrap_servers[0].port, 9092);
  EXPECT_EQ(vc.gateway.bootstrap.port, 19092);
  EXPECT_FALSE(vc.gateway.port_per_broker.has_value());
}

TEST(ProxyConfig, FullConfigWithSeveralClusters) {
  auto c = parse(R"(
worker_threads: 4
max_frame_bytes: 1048576
idle_timeout_ms: 5000
drain_timeout_ms: 2000
max_inflight_requests: 64
max_queued_bytes: 65536
admin: {address: "127.0.0.1:9190"}
virtual_clusters:
  - name: a
    upstream: {bootstrap_servers: ["k1:9092", "k2:9092"]}
    gateway:
      bootstrap: "0.0.0.0:19092"
      port_per_broker: {node_id_min: 1, node_id_max: 3, advertised_host: proxy.local}
  - name: b
    upstream: {bootstrap_servers: ["[::1]:9093"], tls: {verify_hostname: false}}
    gateway: {bootstrap: "0.0.0.0:29092"}
)");
  EXPECT_EQ(c.worker_threads, 4u);
  EXPECT_EQ(c.max_frame_bytes, 1048576);
  EXPECT_EQ(c.idle_timeout.count(), 5000);
  EXPECT_EQ(c.drain_timeout.count(), 2000);
  EXPECT_EQ(c.max_inflight_requests, 64u);
  EXPECT_EQ(c.max_queued_bytes, 65536u);
  ASSERT_TRUE(c.admin.has_value());
  EXPECT_EQ(c.admin->address.port, 9190);
  ASSERT_EQ(c.virtual_clusters.size(), 2u);
  ASSERT_TRUE(c.virtual_clusters[0].gateway.port_per_broker.has_value());
  EXPECT_EQ(c.virtual_clusters[0].gateway.port_per_broker->node_id_min, 1);
  EXPECT_EQ(c.virtual_clusters[0].gateway.port_per_broker->node_id_max, 3);
  EXPECT_EQ(c.virtual_clusters[0].gateway.port_per_broker->advertised_host, "proxy.local");
  EXPECT_EQ(c.virtual_clusters[1].upstream_bootstrap_servers[0].host, "::1");
  ASSERT_TRUE(c.virtual_clusters[1].upstream_tls.has_value());
  EXPECT_FALSE(c.virtual_clusters[1].upstream_tls->verify_hostname);
}

TEST(ProxyConfig, ErrorsNameTheKey) {
  error_for("worker_threads: 2\n", "virtual_clusters");
  error_for(std::string(kMinimal) + "wrker_threads: 2\n", "wrker_threads");
  error_for(std::string(kMinimal) + "max_frame_bytes: 10\n", "max_frame_bytes");
  error_for(std::string(kMinimal) + "idle_timeout_ms: soon\n", "idle_timeout_ms");
  error_for(R"(
virtual_clusters:
  - name: demo
    gateway: {bootstrap: "127.0.0.1:19092"}
)",
            "virtual_clusters[0].upstream");
  error_for(R"(
virtual_clusters:
  - name: demo
    upstream: {bootstrap_servers: []}
    gateway: {bootstrap: "127.0.0.1:19092"}
)",
            "virtual_clusters[0].upstream.bootstrap_servers");
  auto msg = error_for(R"(
virtual_clusters:
  - name: demo
    upstream: {bootstrap_servers: ["localhost:99999"]}
    gateway: {bootstrap: "127.0.0.1:19092"}
)",
                       "virtual_clusters[0].upstream.bootstrap_servers[0]");
  EXPECT_NE(msg.find("localhost:99999"), std::string::npos);
  error_for(R"(
virtual_clusters:
  - name: demo
    upstream: {bootstrap_servers: ["nohost"]}
    gateway: {bootstrap: "127.0.0.1:19092"}
)",
            "virtual_clusters[0].upstream.bootstrap_servers[0]");
  error_for(R"(
virtual_clusters:
  - name: demo
    upstream: {bootstrap_servers: ["k:9092"]}
    gateway: {}
)",
            "virtual_clusters[0].gateway.bootstrap");
}

TEST(ProxyConfig, HelperThreads) {
  // Unset: the gateway builder takes one less than the workers.
  EXPECT_FALSE(parse(kMinimal).helper_threads.has_value());
  EXPECT_EQ(parse(std::string(kMinimal) + "helper_threads: 3\n").helper_threads, 3u);
  EXPECT_EQ(parse(std::string(kMinimal) + "helper_threads: 0\n").helper_threads, 0u);
  error_for(std::string(kMinimal) + "helper_threads: 5000\n", "helper_threads");
  error_for(std::string(kMinimal) + "helper_threads: -1\n", "helper_threads");
}

TEST(ProxyConfig, DuplicateNamesAndOverlappingPortsAreRejected) {
  error_for(R"(
virtual_clusters:
  - name: demo
    upstream: {bootstrap_servers: ["k:9092"]}
    gateway: {bootstrap: "0.0.0.0:19092"}
  - name: demo
    upstream: {bootstrap_servers: ["k:9092"]}
    gateway: {bootstrap: "0.0.0.0:29092"}
)",
            "virtual_clusters[1].name");
  // Cluster a's broker ports 19093..19095 collide with b's bootstrap 19094.
  auto msg = error_for(R"(
virtual_clusters:
  - name: a
    upstream: {bootstrap_servers: ["k:9092"]}
    gateway:
      bootstrap: "0.0.0.0:19092"
      port_per_broker: {node_id_max: 2}
  - name: b
    upstream: {bootstrap_servers: ["k:9092"]}
    gateway: {bootstrap: "0.0.0.0:19094"}
)",
                       "virtual_clusters[1].gateway");
  EXPECT_NE(msg.find("19094"), std::string::npos);
}

TEST(ProxyConfig, PortPerBrokerRangeIsChecked) {
  error_for(R"(
virtual_clusters:
  - name: a
    upstream: {bootstrap_servers: ["k:9092"]}
    gateway:
      bootstrap: "0.0.0.0:19092"
      port_per_broker: {node_id_min: 5, node_id_max: 2}
)",
            "virtual_clusters[0].gateway.port_per_broker.node_id_max");
  error_for(R"(
virtual_clusters:
  - name: a
    upstream: {bootstrap_servers: ["k:9092"]}
    gateway:
      bootstrap: "0.0.0.0:65000"
      port_per_broker: {node_id_max: 1000}
)",
            "virtual_clusters[0].gateway.port_per_broker.node_id_max");
}

TEST(ProxyConfig, TlsFilesMustExistAndSniNeedsTls) {
  error_for(R"(
virtual_clusters:
  - name: a
    upstream: {bootstrap_servers: ["k:9092"]}
    gateway:
      bootstrap: "0.0.0.0:19092"
      tls: {cert_file: /nonexistent/cert.pem, key_file: /nonexistent/key.pem}
)",
            "virtual_clusters[0].gateway.tls.cert_file");
  error_for(R"(
virtual_clusters:
  - name: a
    upstream: {bootstrap_servers: ["k:9092"]}
    gateway:
      bootstrap: "0.0.0.0:19092"
      sni: {domain: kafka.example.com}
)",
            "virtual_clusters[0].gateway.tls");
  error_for(R"(
virtual_clusters:
  - name: a
    upstream:
      bootstrap_servers: ["k:9092"]
      tls: {cert_file: /etc/hostname}
    gateway: {bootstrap: "0.0.0.0:19092"}
)",
            "virtual_clusters[0].upstream.tls.key_file");
}

TEST(ProxyConfig, TheCheckedInExampleIsValid) {
  auto c = load_proxy_config(KENC_EXAMPLE_PROXY_CONFIG);
  ASSERT_EQ(c.virtual_clusters.size(), 1u);
  EXPECT_EQ(c.virtual_clusters[0].name, "orders");
  EXPECT_EQ(c.virtual_clusters[0].upstream_bootstrap_servers.size(), 2u);
  ASSERT_TRUE(c.virtual_clusters[0].gateway.port_per_broker.has_value());
  EXPECT_EQ(c.virtual_clusters[0].gateway.port_per_broker->advertised_host, "proxy.example.com");
  ASSERT_TRUE(c.admin.has_value());
}

TEST(ProxyConfig, FetchLimitScalingAndReadAheadAreOnUnlessTurnedOff) {
  const std::string cluster = std::string(kMinimal) + R"(
    encryption:
      key_broker: {target: "127.0.0.1:9443", insecure_plaintext_for_development: true}
      topics: {rules: [{prefix: "", kek: "K"}]}
)";
  auto on = parse(cluster);
  ASSERT_TRUE(on.virtual_clusters[0].encryption.has_value());
  EXPECT_TRUE(on.virtual_clusters[0].encryption->scale_fetch_limits);
  auto off = parse(cluster + "      scale_fetch_limits: false\n");
  EXPECT_FALSE(off.virtual_clusters[0].encryption->scale_fetch_limits);
  error_for(cluster + "      scale_fetch_limits: sometimes\n",
            "virtual_clusters[0].encryption.scale_fetch_limits");

  EXPECT_TRUE(on.virtual_clusters[0].encryption->fetch_read_ahead);
  EXPECT_EQ(on.virtual_clusters[0].encryption->fetch_read_ahead_max_bytes, 256u * 1024 * 1024);
  auto ahead = parse(cluster + "      fetch_read_ahead: false\n" +
                     "      fetch_read_ahead_max_bytes: 1048576\n");
  EXPECT_FALSE(ahead.virtual_clusters[0].encryption->fetch_read_ahead);
  EXPECT_EQ(ahead.virtual_clusters[0].encryption->fetch_read_ahead_max_bytes, 1048576u);
  error_for(cluster + "      fetch_read_ahead_max_bytes: -1\n",
            "virtual_clusters[0].encryption.fetch_read_ahead_max_bytes");
}

TEST(ProxyConfig, EmptyDocumentIsAnError) {
  EXPECT_THROW(parse_proxy_config(YAML::Load("")), ConfigError);
  EXPECT_THROW(parse_proxy_config(YAML::Load("[1, 2]")), ConfigError);
}

}  // namespace
}  // namespace kenc::proxy::config
