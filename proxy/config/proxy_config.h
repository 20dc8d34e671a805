#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kenc::proxy::config {

struct HostPort {
  std::string host;
  uint16_t port = 0;

  std::string to_string() const { return host + ":" + std::to_string(port); }
};

// TLS where clients connect to the proxy (termination).
struct DownstreamTls {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // non-empty: clients must present a certificate signed by it
};

// TLS from the proxy to the brokers.
struct UpstreamTls {
  std::string trust_store_file;  // PEM CA bundle; empty: the system default
  std::string cert_file;         // optional client certificate ...
  std::string key_file;          // ... and its key
  bool verify_hostname = true;
};

// Port-per-broker: broker `node_id` is reachable at bootstrap port + (node_id - node_id_min),
// advertised as `advertised_host`.
struct PortPerBroker {
  int32_t node_id_min = 0;
  int32_t node_id_max = 0;
  std::string advertised_host;
};

// One TLS port for everything; the broker is chosen by SNI `broker-$(nodeId).<domain>`.
struct SniRouting {
  std::string domain;
};

struct Gateway {
  HostPort bootstrap;  // where clients bootstrap
  std::optional<PortPerBroker> port_per_broker;
  std::optional<SniRouting> sni;
  std::optional<DownstreamTls> tls;
};

// Where the proxy gets its DEKs: the key broker (mutual-TLS gRPC).
struct KeyBrokerConnection {
  std::string target;  // host:port
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name_override;
  std::chrono::milliseconds deadline{2000};
  bool insecure_plaintext_for_development = false;
};

// The record-encryption filter of a virtual cluster (proxy/filters/record_encryption/).
// Assigned only while the configuration is read (start-up, where exceptions are the error
// path): YAML::Node's assignment is not noexcept.
struct Encryption {  // NOLINT(bugprone-exception-escape)
  KeyBrokerConnection key_broker;
  // The `topics` block, validated and compiled by record_encryption::TopicPolicy::from_yaml
  // when the filter is built (so --check-config checks it too).
  YAML::Node topics;
  std::string topics_key;
  size_t dek_cache_max_entries = 10000;
  std::chrono::milliseconds dek_cache_idle_ttl{10 * 60 * 1000};
  bool encrypt_headers = false;  // headers encrypted with the value (cipher format version 2)
  // Fetch requests' byte limits scaled by what decryption takes off (FetchLimitScaler).
  bool scale_fetch_limits = true;
  // Consumers' next Fetch requests sent and decrypted ahead of them (FetchReadAhead), holding
  // at most this many response bytes over all connections of the virtual cluster.
  bool fetch_read_ahead = true;
  size_t fetch_read_ahead_max_bytes = size_t{256} * 1024 * 1024;
};

struct VirtualCluster {
  std::string name;
  std::vector<HostPort> upstream_bootstrap_servers;
  std::optional<UpstreamTls> upstream_tls;
  Gateway gateway;
  std::optional<Encryption> encryption;  // absent: records pass through unencrypted
};

struct AdminListener {
  HostPort address{"127.0.0.1", 9190};
};

struct ProxyConfig {
  size_t worker_threads = 0;  // 0: one per core
  // Threads that help the workers decrypt large Fetch responses, shared by every virtual
  // cluster; unset: one less than the workers.
  std::optional<size_t> helper_threads;
  int32_t max_frame_bytes = 100 * 1024 * 1024;
  std::chrono::milliseconds idle_timeout{10 * 60 * 1000};
  std::chrono::milliseconds drain_timeout{10 * 1000};
  // Per connection and direction: a reader stops reading while this many requests are in
  // flight, or while this many bytes wait to be written to the other side.
  size_t max_inflight_requests = 512;
  size_t max_queued_bytes = size_t{8} * 1024 * 1024;
  std::optional<AdminListener> admin;
  std::vector<VirtualCluster> virtual_clusters;
};

// Validates and converts a parsed YAML document. Throws kenc::config::ConfigError naming the
// offending key (e.g. `virtual_clusters[1].gateway.bootstrap`) and the problem. Unknown keys
// are errors too, so that a typo does not silently fall back to a default.
ProxyConfig parse_proxy_config(const YAML::Node& root);
ProxyConfig load_proxy_config(const std::string& path);

// "host:port" with a port in 1..65535 (0 allowed when `allow_zero`: tests bind a free port).
HostPort parse_host_port(const std::string& key, const std::string& text, bool allow_zero);

}  // namespace kenc::proxy::config
