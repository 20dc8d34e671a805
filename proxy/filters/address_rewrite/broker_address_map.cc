#include "proxy/filters/address_rewrite/broker_address_map.h"

#include <charconv>
#include <limits>

namespace kenc::proxy::address_rewrite {
namespace {

constexpr std::string_view kSniPrefix = "broker-";

}  // namespace

BrokerAddressMap::BrokerAddressMap(Mode mode, std::string host, uint16_t port, int32_t node_id_min,
                                   int32_t node_id_max)
    : mode_(mode),
      host_(std::move(host)),
      port_(port),
      node_id_min_(node_id_min),
      node_id_max_(node_id_max) {}

BrokerAddressMap::BrokerAddressMap(BrokerAddressMap&& other) noexcept
    : mode_(other.mode_),
      host_(std::move(other.host_)),
      port_(other.port_),
      node_id_min_(other.node_id_min_),
      node_id_max_(other.node_id_max_) {
  std::lock_guard lock(other.mutex_);
  upstream_ = std::move(other.upstream_);
  on_new_node_ = std::move(other.on_new_node_);
  on_unadvertisable_ = std::move(other.on_unadvertisable_);
}

BrokerAddressMap BrokerAddressMap::port_per_broker(std::string advertised_host,
                                                   uint16_t bootstrap_port, int32_t node_id_min,
                                                   int32_t node_id_max) {
  return BrokerAddressMap(Mode::kPortPerBroker, std::move(advertised_host), bootstrap_port,
                          node_id_min, node_id_max);
}

BrokerAddressMap BrokerAddressMap::sni(std::string domain, uint16_t port) {
  return BrokerAddressMap(Mode::kSni, std::move(domain), port, 0,
                          std::numeric_limits<int32_t>::max());
}

Result<BrokerAddressMap> BrokerAddressMap::from_gateway(const config::Gateway& gateway,
                                                        uint16_t bootstrap_port) {
  if (gateway.port_per_broker) {
    const auto& p = *gateway.port_per_broker;
    return port_per_broker(p.advertised_host, bootstrap_port, p.node_id_min, p.node_id_max);
  }
  if (gateway.sni) {
    return sni(gateway.sni->domain, bootstrap_port);
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "the gateway has neither port_per_broker nor sni: broker addresses cannot be "
                    "rewritten");
}

Result<Endpoint> BrokerAddressMap::advertised(int32_t node_id) const {
  if (node_id < node_id_min_ || node_id > node_id_max_) {
    return make_error(ErrorCode::kOutOfRange, "broker node id " + std::to_string(node_id) +
                                                  " is outside the configured " + "range " +
                                                  std::to_string(node_id_min_) + ".." +
                                                  std::to_string(node_id_max_));
  }
  if (mode_ == Mode::kSni) {
    return Endpoint{std::string(kSniPrefix) + std::to_string(node_id) + "." + host_, port_};
  }
  int64_t port = int64_t{port_} + 1 + (int64_t{node_id} - node_id_min_);
  if (port > 65535) {
    return make_error(ErrorCode::kOutOfRange,
                      "broker node id " + std::to_string(node_id) + " maps past port 65535");
  }
  return Endpoint{host_, static_cast<int32_t>(port)};
}

std::optional<int32_t> BrokerAddressMap::node_for_server_name(std::string_view name) const {
  if (mode_ != Mode::kSni || !name.starts_with(kSniPrefix)) {
    return std::nullopt;
  }
  name.remove_prefix(kSniPrefix.size());
  auto dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0 || name.substr(dot + 1) != host_) {
    return std::nullopt;
  }
  int32_t id = 0;
  auto digits = name.substr(0, dot);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size() || id < 0) {
    return std::nullopt;
  }
  return id;
}

void BrokerAddressMap::set_on_new_node(NewNodeCallback callback) {
  std::lock_guard lock(mutex_);
  on_new_node_ = std::move(callback);
}

void BrokerAddressMap::set_on_unadvertisable(UnadvertisableCallback callback) {
  on_unadvertisable_ = std::move(callback);
}

void BrokerAddressMap::report_unadvertisable(int32_t node_id) const {
  if (on_unadvertisable_) {
    on_unadvertisable_(node_id);
  }
}

void BrokerAddressMap::learn_upstream(int32_t node_id, const Endpoint& upstream) {
  NewNodeCallback callback;
  {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = upstream_.try_emplace(node_id, upstream);
    if (!inserted && it->second == upstream) {
      return;
    }
    it->second = upstream;
    callback = on_new_node_;
  }
  if (callback) {
    callback(node_id, upstream);
  }
}

std::optional<Endpoint> BrokerAddressMap::upstream(int32_t node_id) const {
  std::lock_guard lock(mutex_);
  auto it = upstream_.find(node_id);
  if (it == upstream_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace kenc::proxy::address_rewrite
