#pragma once

#include <asio/ssl/context.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/admin/admin_server.h"
#include "common/admin/metrics.h"
#include "common/base/result.h"
#include "proxy/filter/filter_chain.h"
#include "proxy/net/connection.h"
#include "proxy/net/connection_tracker.h"
#include "proxy/net/host_port.h"
#include "proxy/net/listener.h"
#include "proxy/net/worker_pool.h"
#include "proxy/ops/proxy_metrics.h"

namespace kenc::proxy {

// A virtual cluster as the running proxy needs it: where clients connect, which brokers it
// fronts, with which TLS and filters. Built from the YAML configuration (proxy/config/) by
// main.cc, or directly by tests.
struct VirtualClusterSpec {
  std::string name;
  HostPort listen;                         // the bootstrap address clients connect to
  std::vector<HostPort> upstream_servers;  // broker bootstrap servers, tried in order
  // When set, replaces upstream_servers at connect time (see UpstreamTarget::resolve).
  std::function<asio::awaitable<std::vector<HostPort>>()> upstream_resolver;
  // SNI routing: the upstream chosen by the client's TLS server name
  // (UpstreamTarget::resolve_by_name).
  std::function<asio::awaitable<std::vector<HostPort>>(std::string)> upstream_resolver_by_name;
  std::shared_ptr<asio::ssl::context> client_tls;    // null: clients connect in plain TCP
  std::shared_ptr<asio::ssl::context> upstream_tls;  // null: plain TCP to the brokers
  bool verify_upstream_hostname = true;
  std::shared_ptr<const FilterChain> filters = std::make_shared<FilterChain>();
};

struct ProxyServerOptions {
  size_t worker_threads = 0;  // 0: one per core
  ConnectionLimits limits;
  std::vector<VirtualClusterSpec> clusters;
  std::optional<admin::AdminServerOptions> admin;  // absent: no admin endpoint
  // On drain(): how long open connections may take to finish before they are closed.
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(10)};
  // The registry /metrics renders. Filters built before the server register their metrics
  // here; null: the server makes its own.
  std::shared_ptr<admin::MetricsRegistry> metrics_registry;
};

// The whole data plane of one proxy process: worker threads, a listener per virtual cluster,
// metrics, the admin endpoint, and an orderly shutdown.
class ProxyServer {
 public:
  explicit ProxyServer(ProxyServerOptions options);
  ~ProxyServer();
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Binds every listener (and the admin endpoint). An error names the address that failed.
  Status start();
  // The bound port of virtual cluster `index` (after start()).
  uint16_t port(size_t index) const { return listeners_.at(index)->port(); }
  uint16_t admin_port() const { return admin_ ? admin_->port() : 0; }
  size_t open_connections() const { return tracker_.count(); }
  const admin::MetricsRegistry& metrics() const { return *registry_; }

  // Stops accepting, waits up to the drain timeout for open connections to end, closes the
  // rest, and stops the workers. /readyz turns "not ready" as soon as draining begins.
  // Idempotent; also run by the destructor.
  void drain();

 private:
  ProxyServerOptions options_;
  std::shared_ptr<admin::MetricsRegistry> registry_;
  ProxyMetrics metrics_;
  ConnectionTracker tracker_;
  WorkerPool workers_;
  std::vector<std::shared_ptr<const ConnectionEnv>> envs_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::atomic<bool> ready_{false};
  bool drained_ = false;
};

}  // namespace kenc::proxy
