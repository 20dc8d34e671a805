#include "proxy/gateway/gateway_builder.h"

#include <glog/logging.h>

#include <asio/this_coro.hpp>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "common/config/config_error.h"
#include "proxy/filters/record_encryption/record_encryption_factory.h"
#include "proxy/gateway/address_rewrite_filter.h"
#include "proxy/gateway/broker_discovery.h"
#include "proxy/tls/tls_context.h"

namespace kenc::proxy {
namespace {

using address_rewrite::BrokerAddressMap;
using address_rewrite::TopicIdMap;

HostPort to_net(const config::HostPort& hp) { return HostPort{hp.host, hp.port}; }

// The upstream of a broker's connection: the broker's real address, discovered through the
// bootstrap servers when no Metadata response has taught it yet. Parameters by value: the
// coroutine outlives its caller's temporaries.
asio::awaitable<std::vector<HostPort>> resolve_broker(std::shared_ptr<BrokerAddressMap> map,
                                                      int32_t node_id, UpstreamTarget bootstrap) {
  auto known = map->upstream(node_id);
  if (!known) {
    auto executor = co_await asio::this_coro::executor;
    Status found = co_await discover_brokers(executor, bootstrap, *map);
    if (!found.ok()) {
      LOG(WARNING) << "cannot discover the address of broker " << node_id << ": "
                   << found.error().to_string();
    }
    known = map->upstream(node_id);
  }
  if (!known) {
    LOG(WARNING) << "a client asked for broker " << node_id << ", which the cluster does not list";
    co_return std::vector<HostPort>{};
  }
  co_return std::vector<HostPort>{HostPort{known->host, static_cast<uint16_t>(known->port)}};
}

// The upstream of a per-broker listener.
std::function<asio::awaitable<std::vector<HostPort>>()> broker_resolver(
    std::shared_ptr<BrokerAddressMap> map, int32_t node_id, UpstreamTarget bootstrap) {
  return [map = std::move(map), node_id, bootstrap = std::move(bootstrap)]() {
    return resolve_broker(map, node_id, bootstrap);
  };
}

asio::awaitable<std::vector<HostPort>> bootstrap_servers(std::vector<HostPort> servers) {
  co_return servers;
}

// SNI routing: `broker-<id>.<domain>` reaches broker <id>; every other name (the bootstrap
// name, an IP address, no name at all) reaches the bootstrap servers, which any broker can
// answer.
std::function<asio::awaitable<std::vector<HostPort>>(std::string)> sni_resolver(
    std::shared_ptr<BrokerAddressMap> map, UpstreamTarget bootstrap) {
  return [map = std::move(map), bootstrap = std::move(bootstrap)](const std::string& server_name) {
    if (auto node = map->node_for_server_name(server_name)) {
      return resolve_broker(map, *node, bootstrap);
    }
    return bootstrap_servers(bootstrap.servers);
  };
}

// A broker the port-per-broker range does not cover: said loudly once per node id (with the
// setting to change), counted every time a response had to leave it out.
void report_brokers_out_of_range(BrokerAddressMap& map, const std::string& key,
                                 const config::VirtualCluster& vc,
                                 admin::CounterFamily& unadvertised) {
  const auto& ppb = *vc.gateway.port_per_broker;
  auto reported = std::make_shared<std::pair<std::mutex, std::set<int32_t>>>();
  map.set_on_unadvertisable([reported, key, name = vc.name, min = ppb.node_id_min,
                             max = ppb.node_id_max, &unadvertised](int32_t node_id) {
    unadvertised.with({name, std::to_string(node_id)}).inc();
    {
      std::lock_guard lock(reported->first);
      if (!reported->second.insert(node_id).second) {
        return;
      }
    }
    const std::string setting =
        key + ".gateway.port_per_broker." + (node_id > max ? "node_id_max" : "node_id_min");
    LOG(ERROR) << "virtual cluster " << name << ": broker node id " << node_id
               << " is outside the gateway's node-id range " << min << ".." << max
               << "; it is left out of the broker addresses given to clients, so partitions it "
                  "leads and groups it coordinates are unavailable through the proxy. Set "
               << setting << " to " << node_id << " (needs a free port for every id in range)";
  });
}

}  // namespace

ProxyServerOptions build_server_options(const config::ProxyConfig& config) {
  ProxyServerOptions options;
  options.worker_threads = config.worker_threads;
  options.limits.max_frame_bytes = config.max_frame_bytes;
  options.limits.max_inflight_requests = config.max_inflight_requests;
  options.limits.max_queued_bytes = config.max_queued_bytes;
  options.limits.idle_timeout = config.idle_timeout;
  options.drain_timeout = config.drain_timeout;
  if (config.admin) {
    admin::AdminServerOptions admin;
    admin.address = config.admin->address.host;
    admin.port = config.admin->address.port;
    options.admin = admin;
  }

  options.metrics_registry = std::make_shared<admin::MetricsRegistry>();
  std::shared_ptr<record_encryption::EncryptionMetricFamilies> encryption_metrics;
  // One pool of decryption helpers for the process, created with the first encrypting cluster.
  const size_t helper_threads =
      config.helper_threads.value_or(WorkerPool::count_for(config.worker_threads) - 1);
  std::shared_ptr<ForkJoinPool> decrypt_helpers;
  auto& unadvertised = options.metrics_registry->counter_family(
      "kenc_proxy_gateway_unadvertised_broker_responses_total",
      "Responses from which a broker was left out because its node id is outside the gateway's "
      "port_per_broker node-id range",
      {"virtual_cluster", "node_id"});
  for (size_t i = 0; i < config.virtual_clusters.size(); ++i) {
    const auto& vc = config.virtual_clusters[i];
    const std::string key = "virtual_clusters[" + std::to_string(i) + "]";
    if (vc.gateway.sni) {
      if (!vc.gateway.tls) {
        throw kenc::config::ConfigError(
            key + ".gateway.tls",
            "SNI routing needs TLS on the gateway (the broker is chosen by the TLS server name)");
      }
      if (vc.gateway.sni->domain.empty()) {
        throw kenc::config::ConfigError(key + ".gateway.sni.domain", "must not be empty");
      }
    } else if (!vc.gateway.port_per_broker) {
      throw kenc::config::ConfigError(
          key + ".gateway",
          "port_per_broker or sni is required (either keeps clients on the proxy)");
    }
    if (vc.gateway.bootstrap.port == 0) {
      throw kenc::config::ConfigError(key + ".gateway.bootstrap",
                                      "a gateway needs a fixed bootstrap port, not 0 (clients are "
                                      "told to reconnect to it)");
    }

    std::shared_ptr<asio::ssl::context> client_tls;
    if (vc.gateway.tls) {
      auto ctx = tls::make_server_context(*vc.gateway.tls);
      if (!ctx.ok()) {
        throw kenc::config::ConfigError(key + ".gateway.tls", ctx.error().message);
      }
      client_tls = *ctx;
    }
    std::shared_ptr<asio::ssl::context> upstream_tls;
    bool verify_hostname = true;
    if (vc.upstream_tls) {
      auto ctx = tls::make_client_context(*vc.upstream_tls);
      if (!ctx.ok()) {
        throw kenc::config::ConfigError(key + ".upstream_tls", ctx.error().message);
      }
      upstream_tls = *ctx;
      verify_hostname = vc.upstream_tls->verify_hostname;
    }

    auto map_or = BrokerAddressMap::from_gateway(vc.gateway, vc.gateway.bootstrap.port);
    if (!map_or.ok()) {
      throw kenc::config::ConfigError(key + ".gateway", map_or.error().message);
    }
    auto map = std::make_shared<BrokerAddressMap>(std::move(map_or.value()));
    if (vc.gateway.port_per_broker) {
      report_brokers_out_of_range(*map, key, vc, unadvertised);
    }
    auto topics = std::make_shared<TopicIdMap>();
    // Requests pass the filters first to last, responses last to first: a Fetch response is
    // decrypted before its broker addresses are rewritten.
    std::vector<std::shared_ptr<Filter>> chain{std::make_shared<AddressRewriteFilter>(map, topics)};
    if (vc.encryption) {
      if (!encryption_metrics) {
        encryption_metrics =
            std::make_shared<record_encryption::EncryptionMetricFamilies>(options.metrics_registry);
      }
      if (!decrypt_helpers && helper_threads > 0) {
        decrypt_helpers = std::make_shared<ForkJoinPool>(helper_threads);
      }
      chain.push_back(record_encryption::make_record_encryption_filter(
          *vc.encryption, key + ".encryption", vc.name, topics, encryption_metrics, decrypt_helpers,
          config.max_frame_bytes));
    }
    auto filters = std::make_shared<FilterChain>(std::move(chain));

    VirtualClusterSpec bootstrap;
    bootstrap.name = vc.name;
    bootstrap.listen = to_net(vc.gateway.bootstrap);
    for (const auto& s : vc.upstream_bootstrap_servers) {
      bootstrap.upstream_servers.push_back(to_net(s));
    }
    bootstrap.client_tls = client_tls;
    bootstrap.upstream_tls = upstream_tls;
    bootstrap.verify_upstream_hostname = verify_hostname;
    bootstrap.filters = filters;

    UpstreamTarget bootstrap_target;
    bootstrap_target.servers = bootstrap.upstream_servers;
    bootstrap_target.tls = upstream_tls.get();
    bootstrap_target.verify_hostname = verify_hostname;

    if (vc.gateway.sni) {
      // One TLS port for the bootstrap and every broker, told apart by the server name.
      bootstrap.upstream_resolver_by_name = sni_resolver(map, bootstrap_target);
      options.clusters.push_back(std::move(bootstrap));
      continue;
    }
    options.clusters.push_back(bootstrap);
    const auto& ppb = *vc.gateway.port_per_broker;
    for (int32_t node = ppb.node_id_min; node <= ppb.node_id_max; ++node) {
      auto advertised = map->advertised(node);
      if (!advertised.ok()) {
        throw kenc::config::ConfigError(key + ".gateway.port_per_broker",
                                        advertised.error().message);
      }
      VirtualClusterSpec broker = bootstrap;
      broker.name = vc.name + "/broker-" + std::to_string(node);
      broker.listen = HostPort{vc.gateway.bootstrap.host, static_cast<uint16_t>(advertised->port)};
      broker.upstream_resolver = broker_resolver(map, node, bootstrap_target);
      options.clusters.push_back(std::move(broker));
    }
  }
  return options;
}

}  // namespace kenc::proxy
