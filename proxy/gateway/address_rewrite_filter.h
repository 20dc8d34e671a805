#pragma once

#include <memory>

#include "proxy/filter/filter.h"
#include "proxy/filters/address_rewrite/broker_address_map.h"
#include "proxy/filters/address_rewrite/topic_id_map.h"

namespace kenc::proxy {

// Keeps clients on the proxy: every response that carries broker addresses (Metadata,
// FindCoordinator, DescribeCluster, KIP-951 NodeEndpoints) is rewritten to the gateway's
// addresses, and ApiVersions is narrowed to the versions the proxy can decode for those APIs.
// A response that cannot be rewritten is never forwarded as it came (its addresses would send
// the client around the proxy, where nothing encrypts): the connection is closed instead.
class AddressRewriteFilter final : public Filter {
 public:
  AddressRewriteFilter(std::shared_ptr<address_rewrite::BrokerAddressMap> map,
                       std::shared_ptr<address_rewrite::TopicIdMap> topics);

  std::string_view name() const override { return "address-rewrite"; }
  bool handles_request(int16_t, int16_t) const override { return false; }
  bool handles_response(int16_t api_key, int16_t api_version) const override;

  asio::awaitable<RequestVerdict> on_request(const RequestContext& context, Frame request) override;
  asio::awaitable<Frame> on_response(const RequestContext& context, Frame response) override;

 private:
  std::shared_ptr<address_rewrite::BrokerAddressMap> map_;
  std::shared_ptr<address_rewrite::TopicIdMap> topics_;
};

}  // namespace kenc::proxy
