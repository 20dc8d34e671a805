#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "proxy/config/proxy_config.h"

namespace kenc::proxy::address_rewrite {

struct Endpoint {
  std::string host;
  int32_t port = 0;

  bool operator==(const Endpoint&) const = default;
};

// Where the proxy tells clients a broker node lives, and where that node really is.
//
// Port-per-broker: node `id` is advertised as `advertised_host` : bootstrap port + 1 +
// (id - node_id_min); ids outside the configured range cannot be advertised (an error, so the
// response is not forwarded with an address that would bypass the proxy).
// SNI: node `id` is advertised as `broker-<id>.<domain>` on the one TLS port; the listener maps
// the server name a client sends back to the node id.
//
// The upstream address of each node is learned from the responses being rewritten. The first
// time a node is seen, `on_new_node` runs (outside the lock) so the gateway can open its
// listener or route on demand. Thread-safe: one map serves every connection of a virtual cluster.
class BrokerAddressMap {
 public:
  using NewNodeCallback = std::function<void(int32_t node_id, const Endpoint& upstream)>;
  // Told about a node the gateway cannot advertise (outside the node-id range), every time a
  // response listing it is rewritten (the rewriter then leaves the node out).
  using UnadvertisableCallback = std::function<void(int32_t node_id)>;

  static BrokerAddressMap port_per_broker(std::string advertised_host, uint16_t bootstrap_port,
                                          int32_t node_id_min, int32_t node_id_max);
  static BrokerAddressMap sni(std::string domain, uint16_t port);
  // The map a virtual cluster's gateway configuration describes. `bootstrap_port` is the port
  // actually bound (the configured one, or the one the system picked for port 0). Errors:
  // kInvalidArgument for a gateway with neither port_per_broker nor sni (clients would be sent
  // straight to the brokers, bypassing the proxy).
  static Result<BrokerAddressMap> from_gateway(const config::Gateway& gateway,
                                               uint16_t bootstrap_port);

  BrokerAddressMap(BrokerAddressMap&& other) noexcept;
  BrokerAddressMap(const BrokerAddressMap&) = delete;
  BrokerAddressMap& operator=(const BrokerAddressMap&) = delete;

  Result<Endpoint> advertised(int32_t node_id) const;
  // The node an SNI server name addresses (`broker-7.kafka.example.com` -> 7), if any.
  std::optional<int32_t> node_for_server_name(std::string_view server_name) const;

  void set_on_new_node(NewNodeCallback callback);
  void set_on_unadvertisable(UnadvertisableCallback callback);
  void report_unadvertisable(int32_t node_id) const;
  // Records the real address of a node; calls on_new_node the first time a node is seen or
  // when its address changes.
  void learn_upstream(int32_t node_id, const Endpoint& upstream);
  std::optional<Endpoint> upstream(int32_t node_id) const;

 private:
  enum class Mode { kPortPerBroker, kSni };
  BrokerAddressMap(Mode mode, std::string host, uint16_t port, int32_t node_id_min,
                   int32_t node_id_max);

  Mode mode_;
  std::string host_;  // advertised host (port-per-broker) or domain (SNI)
  uint16_t port_;     // bootstrap port (port-per-broker) or the TLS port (SNI)
  int32_t node_id_min_;
  int32_t node_id_max_;

  mutable std::mutex mutex_;
  std::map<int32_t, Endpoint> upstream_;
  NewNodeCallback on_new_node_;
  UnadvertisableCallback on_unadvertisable_;  // set once, before any connection
};

}  // namespace kenc::proxy::address_rewrite
