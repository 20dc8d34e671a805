// The address-rewrite filter on Produce and Fetch responses: without NodeEndpoints the frame the
// broker sent goes on as it came (same bytes, same buffer: not decoded, re-encoded or copied);
// with them it is rewritten to the gateway's addresses.
#include "proxy/gateway/address_rewrite_filter.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <optional>

#include "common/kafka/protocol/generated/all_messages.h"
#include "common/kafka/protocol/headers.h"

namespace kenc::proxy {
namespace {

template <typename M>
Frame response_frame(const M& m, int16_t version) {
  auto hv = kafka::response_header_version(M::kApiKey, version);
  EXPECT_TRUE(hv.ok());
  kafka::Writer w;
  kafka::ResponseHeader header;
  header.correlation_id = 11;
  EXPECT_TRUE(header.encode(w, *hv).ok());
  EXPECT_TRUE(m.encode(w, version).ok());
  return make_frame(w.take_bytes());
}

Frame filter_response(AddressRewriteFilter& filter, int16_t api_key, int16_t version,
                      Frame response) {
  asio::io_context io;
  RequestContext context;
  context.api_key = api_key;
  context.api_version = version;
  context.correlation_id = 11;
  context.virtual_cluster = "test";
  context.executor = io.get_executor();
  std::optional<Frame> out;
  asio::co_spawn(io, filter.on_response(context, std::move(response)),
                 [&](const std::exception_ptr& e, Frame f) {
                   EXPECT_FALSE(e) << "the filter threw";
                   out = std::move(f);
                 });
  io.run();
  EXPECT_TRUE(out.has_value());
  return out ? std::move(*out) : Frame{};
}

AddressRewriteFilter make_filter() {
  return AddressRewriteFilter(
      std::make_shared<address_rewrite::BrokerAddressMap>(
          address_rewrite::BrokerAddressMap::port_per_broker("proxy.local", 19092, 0, 5)),
      std::make_shared<address_rewrite::TopicIdMap>());
}

kafka::FetchResponse fetch_with_records() {
  kafka::FetchResponse m;
  m.responses.resize(1);
  m.responses[0].topic_id = kafka::Uuid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  m.responses[0].partitions.resize(1);
  m.responses[0].partitions[0].records = SharedBytes(std::vector<uint8_t>(100000, 0x5A));
  return m;
}

TEST(AddressRewriteFilter, FetchWithoutNodeEndpointsIsForwardedUntouched) {
  auto filter = make_filter();
  for (int16_t v = 16; v <= kafka::FetchResponse::kHighestVersion; ++v) {
    Frame in = response_frame(fetch_with_records(), v);
    const ByteBuffer original = in.bytes;
    const uint8_t* buffer = in.bytes.data();
    Frame out = filter_response(filter, 1, v, std::move(in));
    EXPECT_EQ(out.bytes, original) << "Fetch v" << v;
    EXPECT_EQ(out.bytes.data(), buffer) << "Fetch v" << v << " was copied";
  }
}

TEST(AddressRewriteFilter, ProduceWithoutNodeEndpointsIsForwardedUntouched) {
  auto filter = make_filter();
  kafka::ProduceResponse m;
  m.responses.resize(1);
  m.responses[0].name = "orders";
  m.responses[0].partition_responses.resize(2);
  for (int16_t v = 10; v <= kafka::ProduceResponse::kHighestVersion; ++v) {
    Frame in = response_frame(m, v);
    const ByteBuffer original = in.bytes;
    const uint8_t* buffer = in.bytes.data();
    Frame out = filter_response(filter, 0, v, std::move(in));
    EXPECT_EQ(out.bytes, original) << "Produce v" << v;
    EXPECT_EQ(out.bytes.data(), buffer) << "Produce v" << v << " was copied";
  }
}

TEST(AddressRewriteFilter, NodeEndpointsAreStillRewritten) {
  auto filter = make_filter();
  auto m = fetch_with_records();
  m.node_endpoints.push_back({2, "kafka-2.internal", 9092, std::nullopt, {}});
  const int16_t v = 17;
  Frame out = filter_response(filter, 1, v, response_frame(m, v));
  kafka::Reader r{SharedBytes(std::vector<uint8_t>(out.payload().begin(), out.payload().end()))};
  kafka::ResponseHeader h;
  ASSERT_TRUE(h.decode(r, 1).ok());
  EXPECT_EQ(h.correlation_id, 11);
  kafka::FetchResponse got;
  ASSERT_TRUE(got.decode(r, v).ok());
  ASSERT_EQ(got.node_endpoints.size(), 1u);
  EXPECT_EQ(got.node_endpoints[0].host, "proxy.local");
  EXPECT_EQ(got.node_endpoints[0].port, 19092 + 1 + 2);
  EXPECT_EQ(got.responses, m.responses);  // the records came through unchanged
}

}  // namespace
}  // namespace kenc::proxy
