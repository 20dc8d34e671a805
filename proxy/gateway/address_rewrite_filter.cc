#include "proxy/gateway/address_rewrite_filter.h"

#include <glog/logging.h>

#include <stdexcept>

#include "proxy/filters/address_rewrite/node_endpoints_probe.h"
#include "proxy/filters/address_rewrite/response_rewriter.h"

namespace kenc::proxy {
namespace {

constexpr int16_t kApiVersionsKey = 18;
constexpr int16_t kProduceKey = 0;
constexpr int16_t kFetchKey = 1;

}  // namespace

AddressRewriteFilter::AddressRewriteFilter(std::shared_ptr<address_rewrite::BrokerAddressMap> map,
                                           std::shared_ptr<address_rewrite::TopicIdMap> topics)
    : map_(std::move(map)), topics_(std::move(topics)) {}

bool AddressRewriteFilter::handles_response(int16_t api_key, int16_t api_version) const {
  return api_key == kApiVersionsKey ||
         address_rewrite::carries_broker_addresses(api_key, api_version);
}

asio::awaitable<RequestVerdict> AddressRewriteFilter::on_request(const RequestContext&,
                                                                 Frame request) {
  co_return ForwardRequest{std::move(request)};
}

asio::awaitable<Frame> AddressRewriteFilter::on_response(const RequestContext& context,
                                                         Frame response) {
  if (context.api_key == kProduceKey || context.api_key == kFetchKey) {
    // Every Produce v10+ / Fetch v16+ response comes here for its KIP-951 NodeEndpoints, which
    // brokers only add after a leader change. Without them the original frame goes on as it
    // came: no decoding, no re-encoding, no copy of the fetched records. Any doubt (a version
    // the probe does not know, malformed bytes) takes the full path below, which decides.
    auto has_endpoints = address_rewrite::has_node_endpoints(context.api_key, context.api_version,
                                                             response.payload());
    if (has_endpoints.ok() && !*has_endpoints) {
      co_return response;
    }
  }
  auto payload = response.payload();
  SharedBytes bytes(std::vector<uint8_t>(payload.begin(), payload.end()));
  Result<ByteBuffer> rewritten =
      context.api_key == kApiVersionsKey
          ? address_rewrite::intersect_api_versions(
                context.api_version, bytes,
                [](int16_t key) { return address_rewrite::carries_broker_addresses(key, 32767); })
          : address_rewrite::rewrite_response(context.api_key, context.api_version, bytes, *map_,
                                              topics_.get());
  if (!rewritten.ok()) {
    if (rewritten.error().code == ErrorCode::kUnsupported && context.api_key == kApiVersionsKey) {
      // An ApiVersions version newer than the codec: the client retries with one we know.
      co_return response;
    }
    // Forwarding the broker's own addresses would let the client bypass the proxy.
    throw std::runtime_error(
        "cannot rewrite broker addresses in a response to API " + std::to_string(context.api_key) +
        " v" + std::to_string(context.api_version) + ": " + rewritten.error().to_string());
  }
  co_return make_frame(*rewritten);
}

}  // namespace kenc::proxy
