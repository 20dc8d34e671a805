// Address rewriting on the bytes a REAL Kafka broker sends: every version of Metadata,
// FindCoordinator and DescribeCluster the broker and the codec share, plus ApiVersions, and the
// NodeEndpoints probe on every Produce (v10+) and Fetch (v16+) version the broker answers.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/kafka/protocol/api_table.h"
#include "common/kafka/protocol/generated/all_messages.h"
#include "common/kafka/protocol/headers.h"
#include "common/kafka/records/batch_builder.h"
#include "proxy/filters/address_rewrite/node_endpoints_probe.h"
#include "proxy/filters/address_rewrite/response_rewriter.h"
#include "tests/world/kafka/kafka_environment.h"

namespace kenc::proxy::address_rewrite {
namespace {

using testworld::KafkaEnvironment;

// A blocking Kafka connection speaking raw frames, with the generated codec for bodies.
class RawKafkaConnection {
 public:
  explicit RawKafkaConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawKafkaConnection() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  RawKafkaConnection(const RawKafkaConnection&) = delete;
  RawKafkaConnection& operator=(const RawKafkaConnection&) = delete;
  bool connected() const { return fd_ >= 0; }

  // Sends `body` as (api_key, version) and returns the response payload (header + body).
  std::optional<SharedBytes> call(const kafka::Message& body, int16_t version) {
    const int16_t api_key = body.descriptor().api_key;
    auto hv = kafka::request_header_version(api_key, version);
    if (!hv.ok()) {
      return std::nullopt;
    }
    kafka::RequestHeader header;
    header.api_key = api_key;
    header.api_version = version;
    header.correlation_id = ++correlation_id_;
    header.client_id = "kenc-rewrite-test";
    kafka::Writer w;
    w.write_int32(0);  // size, patched below
    if (!header.encode(w, *hv).ok() || !body.encode(w, version).ok()) {
      return std::nullopt;
    }
    auto frame = w.take_bytes();
    const auto size = static_cast<uint32_t>(frame.size() - 4);
    for (int i = 0; i < 4; ++i) {
      frame[static_cast<size_t>(i)] = static_cast<uint8_t>(size >> (24 - 8 * i));
    }
    if (!send_all(frame)) {
      return std::nullopt;
    }
    auto prefix = read_exact(4);
    if (!prefix) {
      return std::nullopt;
    }
    uint32_t n = (uint32_t{(*prefix)[0]} << 24) | (uint32_t{(*prefix)[1]} << 16) |
                 (uint32_t{(*prefix)[2]} << 8) | uint32_t{(*prefix)[3]};
    auto payload = read_exact(n);
    if (!payload) {
      return std::nullopt;
    }
    return SharedBytes(std::move(*payload));
  }

 private:
  bool send_all(std::span<const uint8_t> b) {
    size_t done = 0;
    while (done < b.size()) {
      ssize_t n = ::send(fd_, b.data() + done, b.size() - done, MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      done += static_cast<size_t>(n);
    }
    return true;
  }
  std::optional<std::vector<uint8_t>> read_exact(size_t n) {
    std::vector<uint8_t> out(n);
    size_t done = 0;
    while (done < n) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 30000) <= 0) {
        return std::nullopt;
      }
      ssize_t r = ::recv(fd_, out.data() + done, n - done, 0);
      if (r <= 0) {
        return std::nullopt;
      }
      done += static_cast<size_t>(r);
    }
    return out;
  }

  int fd_ = -1;
  int32_t correlation_id_ = 0;
};

template <typename M>
M decode(int16_t version, std::span<const uint8_t> payload) {
  auto hv = kafka::response_header_version(M::kApiKey, version);
  kafka::Reader r{SharedBytes(std::vector<uint8_t>(payload.begin(), payload.end()))};
  kafka::ResponseHeader h;
  EXPECT_TRUE(h.decode(r, *hv).ok());
  M m;
  Status st = m.decode(r, version);
  EXPECT_TRUE(st.ok()) << st.error().to_string();
  return m;
}

class RealBrokerRewriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& cluster = KafkaEnvironment::cluster();
    broker_ = cluster.brokers().at(0);
    conn_ = std::make_unique<RawKafkaConnection>(broker_.port);
    ASSERT_TRUE(conn_->connected()) << "cannot connect to the test broker";
    // What the broker supports, from its own ApiVersions answer (v3: flexible body).
    kafka::ApiVersionsRequest req;
    req.client_software_name = "kenc-test";
    req.client_software_version = "1";
    auto payload = conn_->call(req, 3);
    ASSERT_TRUE(payload.has_value());
    api_versions_payload_ = *payload;
    auto resp = decode<kafka::ApiVersionsResponse>(
        3, std::vector<uint8_t>(payload->data(), payload->data() + payload->size()));
    ASSERT_EQ(resp.error_code, 0);
    for (const auto& k : resp.api_keys) {
      versions_[k.api_key] = {k.min_version, k.max_version};
    }
  }

  // Versions both the broker and the codec speak.
  std::vector<int16_t> shared_versions(int16_t api_key) {
    std::vector<int16_t> out;
    auto it = versions_.find(api_key);
    const kafka::ApiInfo* api = kafka::find_api(api_key);
    if (it == versions_.end() || api == nullptr) {
      return out;
    }
    for (int16_t v = std::max(it->second.first, api->lowest_version);
         v <= std::min(it->second.second, api->highest_version); ++v) {
      out.push_back(v);
    }
    return out;
  }

  testworld::KafkaCluster::Broker broker_;
  std::unique_ptr<RawKafkaConnection> conn_;
  SharedBytes api_versions_payload_;
  std::map<int16_t, std::pair<int16_t, int16_t>> versions_;
};

TEST_F(RealBrokerRewriteTest, MetadataEveryVersion) {
  const std::string topic = testworld::unique_topic();
  KafkaEnvironment::cluster().create_topic(topic, 2);
  auto versions = shared_versions(3);
  ASSERT_FALSE(versions.empty());
  for (int16_t v : versions) {
    SCOPED_TRACE("Metadata v" + std::to_string(v));
    kafka::MetadataRequest req;
    req.topics = std::nullopt;  // all topics (v1+); v0 cannot say null
    if (v == 0) {
      req.topics = std::vector<kafka::MetadataRequest::MetadataRequestTopic>{};
    }
    auto payload = conn_->call(req, v);
    ASSERT_TRUE(payload.has_value());
    auto map = BrokerAddressMap::port_per_broker("proxy.test", 30000, 0, 10);
    TopicIdMap topics;
    auto out = rewrite_response(3, v, *payload, map, &topics);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    auto original = decode<kafka::MetadataResponse>(
        v, std::vector<uint8_t>(payload->data(), payload->data() + payload->size()));
    auto rewritten = decode<kafka::MetadataResponse>(v, *out);
    ASSERT_EQ(rewritten.brokers.size(), 1u);
    EXPECT_EQ(rewritten.brokers[0].host, "proxy.test");
    EXPECT_EQ(rewritten.brokers[0].port, 30000 + 1 + broker_.node_id);
    // Only the addresses differ.
    auto expected = original;
    expected.brokers[0].host = "proxy.test";
    expected.brokers[0].port = 30000 + 1 + broker_.node_id;
    EXPECT_EQ(rewritten, expected);
    EXPECT_EQ(map.upstream(broker_.node_id), (Endpoint{"127.0.0.1", broker_.port}));
    bool found = std::any_of(original.topics.begin(), original.topics.end(),
                             [&](const auto& t) { return t.name == topic; });
    EXPECT_TRUE(found) << "topic " << topic << " missing from the broker's answer";
    if (v >= 10) {
      EXPECT_GE(topics.size(), 1u);
    }
  }
}

TEST_F(RealBrokerRewriteTest, FindCoordinatorEveryVersion) {
  auto versions = shared_versions(10);
  ASSERT_FALSE(versions.empty());
  for (int16_t v : versions) {
    SCOPED_TRACE("FindCoordinator v" + std::to_string(v));
    kafka::FindCoordinatorRequest req;
    if (v < 4) {
      req.key = "group-" + std::to_string(v);
    } else {
      req.coordinator_keys = {"group-" + std::to_string(v)};
    }
    // The offsets topic may still be being created: ask until a coordinator is named.
    std::optional<ByteBuffer> out;
    for (int attempt = 0; attempt < 60; ++attempt) {
      auto payload = conn_->call(req, v);
      ASSERT_TRUE(payload.has_value());
      auto map = BrokerAddressMap::port_per_broker("proxy.test", 30000, 0, 10);
      auto r = rewrite_response(10, v, *payload, map);
      ASSERT_TRUE(r.ok()) << r.error().to_string();  // error answers (node -1) rewrite too
      auto got = decode<kafka::FindCoordinatorResponse>(v, *r);
      int32_t node = v < 4 ? got.node_id : got.coordinators.at(0).node_id;
      if (node >= 0) {
        out = *r;
        break;
      }
      ::usleep(500 * 1000);
    }
    ASSERT_TRUE(out.has_value()) << "the broker never named a coordinator";
    auto got = decode<kafka::FindCoordinatorResponse>(v, *out);
    const std::string host = v < 4 ? got.host : got.coordinators.at(0).host;
    const int32_t port = v < 4 ? got.port : got.coordinators.at(0).port;
    EXPECT_EQ(host, "proxy.test");
    EXPECT_EQ(port, 30000 + 1 + broker_.node_id);
  }
}

TEST_F(RealBrokerRewriteTest, DescribeClusterEveryVersion) {
  auto versions = shared_versions(60);
  ASSERT_FALSE(versions.empty());
  for (int16_t v : versions) {
    SCOPED_TRACE("DescribeCluster v" + std::to_string(v));
    kafka::DescribeClusterRequest req;
    auto payload = conn_->call(req, v);
    ASSERT_TRUE(payload.has_value());
    auto map = BrokerAddressMap::sni("kafka.test", 9443);
    auto out = rewrite_response(60, v, *payload, map);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    auto got = decode<kafka::DescribeClusterResponse>(v, *out);
    ASSERT_EQ(got.brokers.size(), 1u);
    EXPECT_EQ(got.brokers[0].host, "broker-" + std::to_string(broker_.node_id) + ".kafka.test");
    EXPECT_EQ(got.brokers[0].port, 9443);
  }
}

TEST_F(RealBrokerRewriteTest, ApiVersionsClampedForFilteredKeysOnly) {
  auto out = intersect_api_versions(3, api_versions_payload_,
                                    [](int16_t key) { return key == 0 || key == 1; });
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  auto got = decode<kafka::ApiVersionsResponse>(3, *out);
  ASSERT_EQ(got.api_keys.size(), versions_.size());
  for (const auto& k : got.api_keys) {
    auto [broker_min, broker_max] = versions_.at(k.api_key);
    if (k.api_key == 0) {
      // Produce: capped at the codec's highest version, but the broker's minimum stays. Kafka
      // 4.x advertises Produce v0 (while refusing v0-v2) because librdkafka only compresses with
      // gzip/snappy/lz4 when v0 is listed; the encryption filter refuses versions it cannot
      // decode rather than forward them.
      const kafka::ApiInfo* api = kafka::find_api(k.api_key);
      EXPECT_EQ(k.min_version, broker_min);
      EXPECT_EQ(k.max_version, std::min(broker_max, api->highest_version));
    } else if (k.api_key == 1) {
      // Other filtered keys are limited to the versions the codec decodes, on both ends.
      const kafka::ApiInfo* api = kafka::find_api(k.api_key);
      EXPECT_EQ(k.min_version, std::max(broker_min, api->lowest_version));
      EXPECT_EQ(k.max_version, std::min(broker_max, api->highest_version));
    } else {
      EXPECT_EQ(k.min_version, broker_min);
      EXPECT_EQ(k.max_version, broker_max);
    }
  }
}

// A single broker never moves a leader, so its Produce and Fetch responses carry no
// NodeEndpoints: the probe must say so on the real bytes (and agree with a full decode), which
// is what lets the proxy forward them untouched. The fetch carries records the walker skips.
TEST_F(RealBrokerRewriteTest, ProduceAndFetchResponsesProbedWithoutDecoding) {
  const std::string topic = testworld::unique_topic("probe");
  KafkaEnvironment::cluster().create_topic(topic, 1);
  kafka::MetadataRequest md;
  md.topics = std::vector<kafka::MetadataRequest::MetadataRequestTopic>(1);
  (*md.topics)[0].name = topic;
  kafka::Uuid topic_id{};
  for (int attempt = 0; attempt < 60 && topic_id == kafka::Uuid{}; ++attempt) {
    auto payload = conn_->call(md, 12);
    ASSERT_TRUE(payload.has_value());
    auto m = decode<kafka::MetadataResponse>(
        12, std::vector<uint8_t>(payload->data(), payload->data() + payload->size()));
    if (m.topics.size() == 1 && m.topics[0].error_code == 0) {
      topic_id = m.topics[0].topic_id;
    } else {
      ::usleep(200 * 1000);
    }
  }
  ASSERT_NE(topic_id, kafka::Uuid{}) << "no topic id for " << topic;

  int produced = 0;
  for (int16_t v : shared_versions(0)) {
    if (v < 10) {
      continue;
    }
    SCOPED_TRACE("Produce v" + std::to_string(v));
    kafka::records::BatchBuilder builder;
    const std::string value(500, 'v');
    for (int i = 0; i < 5; ++i) {
      builder.add(0, i, kafka::records::NullableBytes::of("k"),
                  kafka::records::NullableBytes::of(value));
    }
    std::vector<uint8_t> batch;
    ASSERT_TRUE(builder.finish(batch).ok());
    kafka::ProduceRequest req;
    req.acks = 1;
    req.timeout_ms = 30000;
    req.topic_data.resize(1);
    req.topic_data[0].name = topic;
    req.topic_data[0].topic_id = topic_id;
    req.topic_data[0].partition_data.resize(1);
    req.topic_data[0].partition_data[0].index = 0;
    req.topic_data[0].partition_data[0].records = SharedBytes(std::move(batch));
    auto payload = conn_->call(req, v);
    ASSERT_TRUE(payload.has_value());
    auto probe = has_node_endpoints(0, v, payload->view());
    ASSERT_TRUE(probe.ok()) << probe.error().to_string();
    EXPECT_FALSE(*probe);
    auto got = decode<kafka::ProduceResponse>(
        v, std::vector<uint8_t>(payload->data(), payload->data() + payload->size()));
    ASSERT_EQ(got.responses.size(), 1u);
    EXPECT_EQ(got.responses[0].partition_responses.at(0).error_code, 0);
    EXPECT_TRUE(got.node_endpoints.empty());
    produced += 5;
  }
  ASSERT_GT(produced, 0) << "the broker speaks no Produce version with NodeEndpoints";

  int fetched_versions = 0;
  for (int16_t v : shared_versions(1)) {
    if (v < 16) {
      continue;
    }
    SCOPED_TRACE("Fetch v" + std::to_string(v));
    kafka::FetchRequest req;
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.topics.resize(1);
    req.topics[0].topic_id = topic_id;
    req.topics[0].partitions.resize(1);
    req.topics[0].partitions[0].partition = 0;
    req.topics[0].partitions[0].fetch_offset = 0;
    req.topics[0].partitions[0].partition_max_bytes = 1 << 20;
    auto payload = conn_->call(req, v);
    ASSERT_TRUE(payload.has_value());
    auto probe = has_node_endpoints(1, v, payload->view());
    ASSERT_TRUE(probe.ok()) << probe.error().to_string();
    EXPECT_FALSE(*probe);
    auto got = decode<kafka::FetchResponse>(
        v, std::vector<uint8_t>(payload->data(), payload->data() + payload->size()));
    EXPECT_TRUE(got.node_endpoints.empty());
    ASSERT_EQ(got.responses.size(), 1u);
    const auto& part = got.responses[0].partitions.at(0);
    EXPECT_EQ(part.error_code, 0);
    ASSERT_TRUE(part.records.has_value());
    EXPECT_GT(part.records->size(), static_cast<size_t>(produced) * 500);
    ++fetched_versions;
  }
  EXPECT_GT(fetched_versions, 0) << "the broker speaks no Fetch version with NodeEndpoints";
}

}  // namespace
}  // namespace kenc::proxy::address_rewrite

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::KafkaEnvironment());
  return RUN_ALL_TESTS();
}
