// The NodeEndpoints probe against the generated codec: for every Produce (v10+) and Fetch (v16+)
// version, responses full of the fields the walker skips (records, aborted transactions, record
// errors, per-partition and unknown tagged fields) with and without NodeEndpoints; the probe
// must agree with a full decode, and refuse truncated or padded bytes.
#include "proxy/filters/address_rewrite/node_endpoints_probe.h"

#include <gtest/gtest.h>

#include "common/kafka/protocol/generated/all_messages.h"
#include "common/kafka/protocol/headers.h"

namespace kenc::proxy::address_rewrite {
namespace {

template <typename M>
ByteBuffer encode_response(const M& m, int16_t version) {
  auto hv = kafka::response_header_version(M::kApiKey, version);
  EXPECT_TRUE(hv.ok());
  kafka::Writer w;
  kafka::ResponseHeader header;
  header.correlation_id = 7;
  header.unknown_tagged_fields.push_back({3, {1, 2, 3}});  // a header tag the walker skips
  EXPECT_TRUE(header.encode(w, *hv).ok());
  Status st = m.encode(w, version);
  EXPECT_TRUE(st.ok()) << st.error().to_string();
  return w.take_bytes();
}

kafka::FetchResponse busy_fetch() {
  kafka::FetchResponse m;
  m.session_id = 99;
  for (int t = 0; t < 2; ++t) {
    kafka::FetchResponse::FetchableTopicResponse topic;
    topic.topic_id = kafka::Uuid{
        static_cast<uint8_t>(t + 1), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    for (int p = 0; p < 3; ++p) {
      kafka::FetchResponse::PartitionData part;
      part.partition_index = p;
      part.high_watermark = 1000;
      part.last_stable_offset = 1000;
      part.log_start_offset = 0;
      if (p == 1) {
        part.aborted_transactions = std::vector<kafka::FetchResponse::AbortedTransaction>(2);
        part.current_leader.leader_id = 2;
        part.current_leader.leader_epoch = 5;
        part.diverging_epoch.epoch = 4;
        part.diverging_epoch.end_offset = 77;
      }
      if (p != 2) {  // partition 2: null records
        // Bytes that look like tagged fields and varints must not confuse the walker.
        part.records = SharedBytes(std::vector<uint8_t>(300 + 100 * p, 0x80));
      }
      part.unknown_tagged_fields.push_back({9, {0xFF}});
      topic.partitions.push_back(part);
    }
    m.responses.push_back(topic);
  }
  m.unknown_tagged_fields.push_back({7, {0, 0}});  // an unknown top-level tag is not tag 0
  return m;
}

kafka::ProduceResponse busy_produce() {
  kafka::ProduceResponse m;
  m.throttle_time_ms = 3;
  for (int t = 0; t < 2; ++t) {
    kafka::ProduceResponse::TopicProduceResponse topic;
    topic.name = "orders-" + std::to_string(t);
    topic.topic_id = kafka::Uuid{
        static_cast<uint8_t>(t + 1), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    for (int p = 0; p < 3; ++p) {
      kafka::ProduceResponse::PartitionProduceResponse part;
      part.index = p;
      part.base_offset = 10 * p;
      if (p == 1) {
        part.error_code = 6;  // NOT_LEADER_OR_FOLLOWER
        part.error_message = "not the leader";
        part.record_errors.push_back({0, std::string("bad record"), {}});
        part.record_errors.push_back({2, std::nullopt, {}});
        part.current_leader.leader_id = 2;
        part.current_leader.leader_epoch = 9;
      }
      topic.partition_responses.push_back(part);
    }
    m.responses.push_back(topic);
  }
  m.unknown_tagged_fields.push_back({7, {0, 0}});
  return m;
}

template <typename M>
void check_every_version(M m, int16_t api_key, int16_t first, int16_t last) {
  for (int16_t v = first; v <= last; ++v) {
    SCOPED_TRACE("API " + std::to_string(api_key) + " v" + std::to_string(v));
    m.node_endpoints.clear();
    auto without = encode_response(m, v);
    auto none = has_node_endpoints(api_key, v, without);
    ASSERT_TRUE(none.ok()) << none.error().to_string();
    EXPECT_FALSE(*none);

    m.node_endpoints.push_back({2, "kafka-2.internal", 9092, std::string("rack-b"), {}});
    auto with = encode_response(m, v);
    auto some = has_node_endpoints(api_key, v, with);
    ASSERT_TRUE(some.ok()) << some.error().to_string();
    EXPECT_TRUE(*some);

    // Every truncation is an error, never a crash or a wrong "none".
    for (size_t n = 0; n < with.size(); ++n) {
      auto cut = has_node_endpoints(api_key, v, std::span<const uint8_t>(with).first(n));
      EXPECT_FALSE(cut.ok()) << "a response cut to " << n << " of " << with.size()
                             << " bytes was accepted";
    }
    // So are bytes after the body.
    without.push_back(0);
    EXPECT_FALSE(has_node_endpoints(api_key, v, without).ok());
  }
}

TEST(NodeEndpointsProbe, FetchEveryVersionWithAndWithoutEndpoints) {
  check_every_version(busy_fetch(), 1, 16, kProbeHighestFetchVersion);
}

TEST(NodeEndpointsProbe, ProduceEveryVersionWithAndWithoutEndpoints) {
  check_every_version(busy_produce(), 0, 10, kProbeHighestProduceVersion);
}

TEST(NodeEndpointsProbe, EmptyResponses) {
  EXPECT_FALSE(*has_node_endpoints(1, 17, encode_response(kafka::FetchResponse{}, 17)));
  EXPECT_FALSE(*has_node_endpoints(0, 12, encode_response(kafka::ProduceResponse{}, 12)));
}

TEST(NodeEndpointsProbe, OtherApisAndVersionsAreUnsupported) {
  auto fetch = encode_response(kafka::FetchResponse{}, 17);
  EXPECT_EQ(has_node_endpoints(1, 15, fetch).error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(has_node_endpoints(1, kProbeHighestFetchVersion + 1, fetch).error().code,
            ErrorCode::kUnsupported);
  EXPECT_EQ(has_node_endpoints(0, 9, fetch).error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(has_node_endpoints(3, 12, fetch).error().code, ErrorCode::kUnsupported);
}

// A codec update that adds a version must come with a look at the walker's layout.
TEST(NodeEndpointsProbe, KnowsTheCodecsHighestVersions) {
  EXPECT_EQ(kProbeHighestFetchVersion, kafka::FetchResponse::kHighestVersion);
  EXPECT_EQ(kProbeHighestProduceVersion, kafka::ProduceResponse::kHighestVersion);
}

}  // namespace
}  // namespace kenc::proxy::address_rewrite
