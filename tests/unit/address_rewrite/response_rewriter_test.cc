#include "proxy/filters/address_rewrite/response_rewriter.h"

#include <gtest/gtest.h>

#include <span>
#include <vector>

#include "common/kafka/protocol/api_table.h"
#include "common/kafka/protocol/generated/all_messages.h"
#include "common/kafka/protocol/headers.h"

namespace kenc::proxy::address_rewrite {
namespace {

using kafka::Reader;
using kafka::Writer;

template <typename M>
SharedBytes encode_response(const M& m, int16_t version, int32_t correlation_id = 42) {
  auto hv = kafka::response_header_version(M::kApiKey, version);
  EXPECT_TRUE(hv.ok());
  Writer w;
  kafka::ResponseHeader header;
  header.correlation_id = correlation_id;
  EXPECT_TRUE(header.encode(w, *hv).ok());
  Status st = m.encode(w, version);
  EXPECT_TRUE(st.ok()) << st.error().to_string();
  return SharedBytes(w.take_bytes());
}

template <typename M>
M decode_response(std::span<const uint8_t> bytes, int16_t version, int32_t expected_corr = 42) {
  auto hv = kafka::response_header_version(M::kApiKey, version);
  Reader r{SharedBytes(std::vector<uint8_t>(bytes.begin(), bytes.end()))};
  kafka::ResponseHeader h;
  EXPECT_TRUE(h.decode(r, *hv).ok());
  EXPECT_EQ(h.correlation_id, expected_corr);
  M m;
  Status st = m.decode(r, version);
  EXPECT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_EQ(r.remaining(), 0u);
  return m;
}

BrokerAddressMap proxy_map() {
  return BrokerAddressMap::port_per_broker("proxy.local", 19092, 0, 5);
}

kafka::MetadataResponse sample_metadata(int16_t version) {
  kafka::MetadataResponse m;
  m.brokers.push_back({1, "kafka-1.internal", 9092, std::nullopt, {}});
  m.brokers.push_back({2, "kafka-2.internal", 9093, std::nullopt, {}});
  if (version >= 1) {
    m.brokers[0].rack = "rack-a";
    m.controller_id = 1;
  }
  if (version >= 2) {
    m.cluster_id = "cluster-xyz";
  }
  kafka::MetadataResponse::MetadataResponseTopic t;
  t.name = "orders";
  if (version >= 10) {
    t.topic_id = kafka::Uuid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  }
  kafka::MetadataResponse::MetadataResponsePartition p;
  p.partition_index = 0;
  p.leader_id = 2;
  p.replica_nodes = {1, 2};
  p.isr_nodes = {1, 2};
  t.partitions.push_back(p);
  m.topics.push_back(t);
  return m;
}

TEST(ResponseRewriter, MetadataBrokersPointAtTheProxyInEveryVersion) {
  for (int16_t v = kafka::MetadataResponse::kLowestVersion;
       v <= kafka::MetadataResponse::kHighestVersion; ++v) {
    SCOPED_TRACE("Metadata v" + std::to_string(v));
    auto map = proxy_map();
    TopicIdMap topics;
    auto original = sample_metadata(v);
    auto out = rewrite_response(3, v, encode_response(original, v), map, &topics);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    auto got = decode_response<kafka::MetadataResponse>(*out, v);
    auto expected = original;
    expected.brokers[0].host = "proxy.local";
    expected.brokers[0].port = 19092 + 1 + 1;
    expected.brokers[1].host = "proxy.local";
    expected.brokers[1].port = 19092 + 1 + 2;
    EXPECT_EQ(got, expected);  // everything else is unchanged
    EXPECT_EQ(map.upstream(1), (Endpoint{"kafka-1.internal", 9092}));
    EXPECT_EQ(map.upstream(2), (Endpoint{"kafka-2.internal", 9093}));
    EXPECT_EQ(topics.size(), v >= 10 ? 1u : 0u);
    if (v >= 10) {
      EXPECT_EQ(topics.name(original.topics[0].topic_id), "orders");
    }
  }
}

TEST(ResponseRewriter, NewNodesAreReportedOnce) {
  auto map = proxy_map();
  std::vector<int32_t> seen;
  map.set_on_new_node([&](int32_t id, const Endpoint&) { seen.push_back(id); });
  auto m = sample_metadata(12);
  ASSERT_TRUE(rewrite_response(3, 12, encode_response(m, 12), map).ok());
  ASSERT_TRUE(rewrite_response(3, 12, encode_response(m, 12), map).ok());
  EXPECT_EQ(seen, (std::vector<int32_t>{1, 2}));
  m.brokers[0].host = "kafka-1.moved";  // an address change is news too
  ASSERT_TRUE(rewrite_response(3, 12, encode_response(m, 12), map).ok());
  EXPECT_EQ(seen, (std::vector<int32_t>{1, 2, 1}));
}

TEST(ResponseRewriter, NodeOutsideTheConfiguredRangeIsLeftOutAndReported) {
  // Range 0..1; the cluster also has node 2. Its real address must never reach the client, and
  // the client must keep working with node 1.
  auto map = BrokerAddressMap::port_per_broker("proxy.local", 19092, 0, 1);
  std::vector<int32_t> reported;
  map.set_on_unadvertisable([&](int32_t id) { reported.push_back(id); });

  auto out = rewrite_response(3, 12, encode_response(sample_metadata(12), 12), map);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  auto md = decode_response<kafka::MetadataResponse>(*out, 12);
  ASSERT_EQ(md.brokers.size(), 1u);
  EXPECT_EQ(md.brokers[0].node_id, 1);
  EXPECT_EQ(md.brokers[0].host, "proxy.local");
  EXPECT_EQ(md.brokers[0].port, 19094);
  ASSERT_EQ(md.topics.size(), 1u) << "topics are kept, whoever leads them";
  EXPECT_EQ(reported, (std::vector<int32_t>{2}));
  EXPECT_EQ(map.upstream(2)->host, "kafka-2.internal") << "its real address is still learned";

  for (int16_t v : {int16_t{3}, int16_t{4}}) {
    kafka::FindCoordinatorResponse fc;
    if (v < 4) {
      fc.node_id = 2;
      fc.host = "kafka-2.internal";
      fc.port = 9093;
    } else {
      fc.coordinators.push_back({"g1", 1, "kafka-1.internal", 9092, 0, std::nullopt, {}});
      fc.coordinators.push_back({"g2", 2, "kafka-2.internal", 9093, 0, std::nullopt, {}});
    }
    auto fco = rewrite_response(10, v, encode_response(fc, v), map);
    ASSERT_TRUE(fco.ok()) << fco.error().to_string();
    auto got = decode_response<kafka::FindCoordinatorResponse>(*fco, v);
    if (v < 4) {
      EXPECT_EQ(got.error_code, 15) << "COORDINATOR_NOT_AVAILABLE: the client retries";
      EXPECT_EQ(got.node_id, -1);
      EXPECT_EQ(got.port, -1);
      EXPECT_EQ(got.host.find("kafka-2"), std::string::npos);
    } else {
      ASSERT_EQ(got.coordinators.size(), 2u);
      EXPECT_EQ(got.coordinators[0].error_code, 0);
      EXPECT_EQ(got.coordinators[0].host, "proxy.local");
      EXPECT_EQ(got.coordinators[1].error_code, 15);
      EXPECT_EQ(got.coordinators[1].node_id, -1);
      EXPECT_EQ(got.coordinators[1].host.find("kafka-2"), std::string::npos);
    }
  }
}

TEST(ResponseRewriter, FindCoordinatorTopLevelAndCoordinatorList) {
  for (int16_t v = kafka::FindCoordinatorResponse::kLowestVersion;
       v <= kafka::FindCoordinatorResponse::kHighestVersion; ++v) {
    SCOPED_TRACE("FindCoordinator v" + std::to_string(v));
    auto map = proxy_map();
    kafka::FindCoordinatorResponse m;
    if (v < 4) {
      m.node_id = 3;
      m.host = "kafka-3.internal";
      m.port = 9094;
    } else {
      m.coordinators.push_back({"group-a", 3, "kafka-3.internal", 9094, 0, std::nullopt, {}});
      // A coordinator that is not available: no node, must stay as it is.
      m.coordinators.push_back({"group-b", -1, "", -1, 15, std::nullopt, {}});
    }
    auto out = rewrite_response(10, v, encode_response(m, v), map);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    auto got = decode_response<kafka::FindCoordinatorResponse>(*out, v);
    auto expected = m;
    if (v < 4) {
      expected.host = "proxy.local";
      expected.port = 19096;
    } else {
      expected.coordinators[0].host = "proxy.local";
      expected.coordinators[0].port = 19096;
    }
    EXPECT_EQ(got, expected);
  }
}

TEST(ResponseRewriter, DescribeClusterBrokers) {
  for (int16_t v = kafka::DescribeClusterResponse::kLowestVersion;
       v <= kafka::DescribeClusterResponse::kHighestVersion; ++v) {
    auto map = proxy_map();
    kafka::DescribeClusterResponse m;
    m.cluster_id = "c";
    kafka::DescribeClusterResponse::DescribeClusterBroker b;
    b.broker_id = 0;
    b.host = "kafka-0.internal";
    b.port = 9092;
    b.rack = "r";
    m.brokers.push_back(b);
    auto out = rewrite_response(60, v, encode_response(m, v), map);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    auto got = decode_response<kafka::DescribeClusterResponse>(*out, v);
    EXPECT_EQ(got.brokers[0].host, "proxy.local");
    EXPECT_EQ(got.brokers[0].port, 19093);
    EXPECT_EQ(got.brokers[0].rack, "r");
    EXPECT_EQ(got.cluster_id, "c");
  }
}

TEST(ResponseRewriter, Kip951NodeEndpointsOfProduceAndFetch) {
  EXPECT_FALSE(carries_broker_addresses(0, 9));
  EXPECT_TRUE(carries_broker_addresses(0, 10));
  EXPECT_FALSE(carries_broker_addresses(1, 15));
  EXPECT_TRUE(carries_broker_addresses(1, 16));
  EXPECT_FALSE(carries_broker_addresses(19, 7));  // CreateTopics: nothing to rewrite
  EXPECT_FALSE(carries_broker_addresses(78, 0));
  EXPECT_TRUE(carries_broker_addresses(78, 1));
  EXPECT_TRUE(carries_broker_addresses(79, 1));
  for (int16_t v = 10; v <= kafka::ProduceResponse::kHighestVersion; ++v) {
    auto map = proxy_map();
    kafka::ProduceResponse m;
    m.node_endpoints.push_back({4, "kafka-4.internal", 9092, std::nullopt, {}});
    auto out = rewrite_response(0, v, encode_response(m, v), map);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    auto got = decode_response<kafka::ProduceResponse>(*out, v);
    ASSERT_EQ(got.node_endpoints.size(), 1u);
    EXPECT_EQ(got.node_endpoints[0].host, "proxy.local");
    EXPECT_EQ(got.node_endpoints[0].port, 19097);
  }
  for (int16_t v = 16; v <= kafka::FetchResponse::kHighestVersion; ++v) {
    auto map = proxy_map();
    kafka::FetchResponse m;
    m.node_endpoints.push_back({5, "kafka-5.internal", 9092, std::nullopt, {}});
    auto out = rewrite_response(1, v, encode_response(m, v), map);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    auto got = decode_response<kafka::FetchResponse>(*out, v);
    ASSERT_EQ(got.node_endpoints.size(), 1u);
    EXPECT_EQ(got.node_endpoints[0].port, 19098);
  }
}

TEST(ResponseRewriter, ShareFetchAndShareAcknowledgeNodeEndpoints) {
  auto map = proxy_map();
  kafka::ShareFetchResponse fetch;
  fetch.node_endpoints.push_back({});
  fetch.node_endpoints[0].node_id = 3;
  fetch.node_endpoints[0].host = "kafka-3.internal";
  fetch.node_endpoints[0].port = 9092;
  auto out = rewrite_response(78, 1, encode_response(fetch, 1), map);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  auto got = decode_response<kafka::ShareFetchResponse>(*out, 1);
  ASSERT_EQ(got.node_endpoints.size(), 1u);
  EXPECT_EQ(got.node_endpoints[0].host, "proxy.local");
  EXPECT_EQ(got.node_endpoints[0].port, 19096);

  kafka::ShareAcknowledgeResponse ack;
  ack.node_endpoints.push_back({});
  ack.node_endpoints[0].node_id = 4;
  ack.node_endpoints[0].host = "kafka-4.internal";
  ack.node_endpoints[0].port = 9092;
  auto out2 = rewrite_response(79, 1, encode_response(ack, 1), map);
  ASSERT_TRUE(out2.ok()) << out2.error().to_string();
  auto got2 = decode_response<kafka::ShareAcknowledgeResponse>(*out2, 1);
  ASSERT_EQ(got2.node_endpoints.size(), 1u);
  EXPECT_EQ(got2.node_endpoints[0].port, 19097);
}

TEST(ResponseRewriter, TruncatedResponsesAreErrorsNotCrashes) {
  auto map = proxy_map();
  auto full = encode_response(sample_metadata(12), 12);
  for (size_t n = 0; n < full.size(); ++n) {
    auto out = rewrite_response(3, 12, full.slice(0, n), map);
    EXPECT_FALSE(out.ok()) << "prefix of " << n << " bytes";
  }
}

TEST(ResponseRewriter, UnknownVersionIsUnsupported) {
  auto map = proxy_map();
  auto out = rewrite_response(3, 99, encode_response(sample_metadata(12), 12), map);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kUnsupported);
}

TEST(ResponseRewriter, SniNamesEncodeTheNodeId) {
  auto map = BrokerAddressMap::sni("kafka.example.com", 9443);
  auto e = map.advertised(7);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "broker-7.kafka.example.com");
  EXPECT_EQ(e->port, 9443);
  EXPECT_EQ(map.node_for_server_name("broker-7.kafka.example.com"), 7);
  EXPECT_EQ(map.node_for_server_name("broker-.kafka.example.com"), std::nullopt);
  EXPECT_EQ(map.node_for_server_name("broker-7x.kafka.example.com"), std::nullopt);
  EXPECT_EQ(map.node_for_server_name("broker-7.other.com"), std::nullopt);
  EXPECT_EQ(map.node_for_server_name("kafka.example.com"), std::nullopt);
  EXPECT_EQ(map.node_for_server_name("broker-99999999999.kafka.example.com"), std::nullopt);
  auto out = rewrite_response(3, 12, encode_response(sample_metadata(12), 12), map);
  ASSERT_TRUE(out.ok());
  auto got = decode_response<kafka::MetadataResponse>(*out, 12);
  EXPECT_EQ(got.brokers[1].host, "broker-2.kafka.example.com");
  EXPECT_EQ(got.brokers[1].port, 9443);
}

TEST(BrokerAddressMap, FromGatewayConfiguration) {
  config::Gateway g;
  g.bootstrap = config::HostPort{"0.0.0.0", 0};
  EXPECT_FALSE(BrokerAddressMap::from_gateway(g, 19092).ok());  // nothing to advertise
  g.port_per_broker = config::PortPerBroker{10, 12, "proxy.local"};
  auto ppb = BrokerAddressMap::from_gateway(g, 19092);
  ASSERT_TRUE(ppb.ok());
  EXPECT_EQ(*ppb->advertised(10), (Endpoint{"proxy.local", 19093}));
  EXPECT_EQ(*ppb->advertised(12), (Endpoint{"proxy.local", 19095}));
  EXPECT_FALSE(ppb->advertised(9).ok());
  EXPECT_FALSE(ppb->advertised(13).ok());
  g.port_per_broker.reset();
  g.sni = config::SniRouting{"kafka.example.com"};
  auto sni = BrokerAddressMap::from_gateway(g, 9443);
  ASSERT_TRUE(sni.ok());
  EXPECT_EQ(*sni->advertised(1), (Endpoint{"broker-1.kafka.example.com", 9443}));
}

// Mutated and random responses: every outcome is a value (ok or an error), never a crash or a
// read past the buffer. (ASan builds make the second half of that claim checkable.)
TEST(ResponseRewriter, MutatedResponsesNeverCrash) {
  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  const std::vector<std::pair<int16_t, SharedBytes>> samples = {
      {3, encode_response(sample_metadata(12), 12)},
      {3, encode_response(sample_metadata(4), 4)},
  };
  size_t ok = 0;
  size_t failed = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto& [key, original] = samples[static_cast<size_t>(i) % samples.size()];
    const int16_t version = i % 2 == 0 ? 12 : 4;
    std::vector<uint8_t> bytes(original.data(), original.data() + original.size());
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int f = 0; f < flips; ++f) {
      bytes[next() % bytes.size()] = static_cast<uint8_t>(next());
    }
    if (next() % 4 == 0) {
      bytes.resize(next() % bytes.size());
    }
    auto map = proxy_map();
    auto out = rewrite_response(key, version, SharedBytes(std::move(bytes)), map);
    (out.ok() ? ok : failed)++;
  }
  EXPECT_EQ(ok + failed, 20000u);
  EXPECT_GT(failed, 0u);  // the mutations did reach the decoder's checks
}

TEST(ApiVersionsIntersection, FilteredKeysAreClampedToTheCodec) {
  const int16_t v = 3;
  kafka::ApiVersionsResponse m;
  m.api_keys.push_back({0, 0, 99, {}});    // Produce: a filter decodes it
  m.api_keys.push_back({1, 0, 99, {}});    // Fetch: a filter decodes it
  m.api_keys.push_back({3, 0, 99, {}});    // Metadata: nobody decodes it here
  m.api_keys.push_back({999, 0, 1, {}});   // unknown to the codec but a filter wants it
  m.api_keys.push_back({1000, 0, 1, {}});  // unknown and not filtered: passes untouched
  auto out = intersect_api_versions(v, encode_response(m, v),
                                    [](int16_t key) { return key <= 1 || key == 999; });
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  auto got = decode_response<kafka::ApiVersionsResponse>(*out, v);
  ASSERT_EQ(got.api_keys.size(), 4u);
  EXPECT_EQ(got.api_keys[0].api_key, 0);
  EXPECT_EQ(got.api_keys[0].max_version, kafka::find_api(0)->highest_version);
  // Produce keeps the broker's minimum: librdkafka compresses only when v0 is listed.
  EXPECT_EQ(got.api_keys[0].min_version, 0);
  EXPECT_EQ(got.api_keys[1].api_key, 1);
  EXPECT_EQ(got.api_keys[1].min_version, kafka::find_api(1)->lowest_version);
  EXPECT_EQ(got.api_keys[1].max_version, kafka::find_api(1)->highest_version);
  EXPECT_EQ(got.api_keys[2].api_key, 3);
  EXPECT_EQ(got.api_keys[2].max_version, 99);
  EXPECT_EQ(got.api_keys[3].api_key, 1000);
}

}  // namespace
}  // namespace kenc::proxy::address_rewrite
