// A filter's own request on a client's upstream connection (UpstreamChannel) against a REAL
// Kafka broker: resolve_topic_names learns the name of a topic id that no Metadata response
// passing through this proxy carried (the client took its metadata elsewhere, here: directly
// from the broker), while the client's pipelined requests still get their responses, in order,
// with their own correlation ids.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "common/kafka/protocol/generated/api_versions_request.h"
#include "common/kafka/protocol/generated/fetch_request.h"
#include "common/kafka/protocol/generated/fetch_response.h"
#include "common/kafka/protocol/generated/metadata_request.h"
#include "common/kafka/protocol/generated/metadata_response.h"
#include "common/kafka/protocol/headers.h"
#include "proxy/filters/address_rewrite/resolve_topic_names.h"
#include "proxy/server/proxy_server.h"
#include "tests/world/kafka/java_client.h"
#include "tests/world/kafka/kafka_cluster.h"
#include "tests/world/kafka/kafka_environment.h"

namespace kenc::proxy {
namespace {

using kenc::testworld::KafkaCluster;
using namespace std::chrono_literals;

// Blocking loopback socket speaking whole Kafka frames.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot connect to port " + std::to_string(port));
    }
    timeval tv{60, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() { ::close(fd_); }

  void send(const std::vector<uint8_t>& frame) {
    size_t done = 0;
    while (done < frame.size()) {
      ssize_t n = ::write(fd_, frame.data() + done, frame.size() - done);
      if (n <= 0) throw std::runtime_error("write failed");
      done += static_cast<size_t>(n);
    }
  }
  // One response payload (without the size prefix).
  std::vector<uint8_t> receive() {
    uint8_t size_bytes[4];
    read_exactly(size_bytes, 4);
    const uint32_t size = (uint32_t{size_bytes[0]} << 24) | (uint32_t{size_bytes[1]} << 16) |
                          (uint32_t{size_bytes[2]} << 8) | size_bytes[3];
    std::vector<uint8_t> payload(size);
    read_exactly(payload.data(), size);
    return payload;
  }

 private:
  void read_exactly(uint8_t* out, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t got = ::read(fd_, out + done, n - done);
      if (got <= 0) throw std::runtime_error("connection closed or timed out");
      done += static_cast<size_t>(got);
    }
  }
  int fd_ = -1;
};

template <typename M>
std::vector<uint8_t> request_frame(const M& body, int16_t version, int32_t correlation_id) {
  kafka::RequestHeader header;
  header.api_key = M::kApiKey;
  header.api_version = version;
  header.correlation_id = correlation_id;
  header.client_id = "raw-test-client";
  kafka::Writer w;
  EXPECT_TRUE(header.encode(w, *kafka::request_header_version(M::kApiKey, version)).ok());
  EXPECT_TRUE(body.encode(w, version).ok());
  const ByteBuffer bytes = make_frame(w.bytes()).bytes;
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

template <typename M>
M decode_response(const std::vector<uint8_t>& payload, int16_t version, int32_t* correlation_id) {
  kafka::Reader r{SharedBytes(payload)};
  kafka::ResponseHeader header;
  EXPECT_TRUE(header.decode(r, *kafka::response_header_version(M::kApiKey, version)).ok());
  *correlation_id = header.correlation_id;
  M m;
  Status s = m.decode(r, version);
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  return m;
}

// Names the topic ids of Fetch requests (v13+ carry ids only) before forwarding them, as the
// record encryption filter does; remembers what it could name.
class NamingFilter final : public Filter {
 public:
  std::shared_ptr<address_rewrite::TopicIdMap> map =
      std::make_shared<address_rewrite::TopicIdMap>();
  std::mutex mutex;
  std::vector<Status> outcomes;

  std::string_view name() const override { return "naming-test"; }
  bool handles_request(int16_t key, int16_t version) const override {
    return key == kafka::FetchRequest::kApiKey && version >= 13;
  }
  bool handles_response(int16_t, int16_t) const override { return false; }

  asio::awaitable<RequestVerdict> on_request(const RequestContext& context,
                                             Frame request) override {
    auto payload = request.payload();
    kafka::Reader r{SharedBytes(std::vector<uint8_t>(payload.begin(), payload.end()))};
    kafka::RequestHeader header;
    EXPECT_TRUE(
        header.decode(r, *kafka::request_header_version(context.api_key, context.api_version))
            .ok());
    kafka::FetchRequest fetch;
    EXPECT_TRUE(fetch.decode(r, context.api_version).ok());
    std::vector<kafka::Uuid> ids;
    for (const auto& t : fetch.topics) ids.push_back(t.topic_id);
    Status s = co_await address_rewrite::resolve_topic_names(context, *map, ids);
    {
      std::lock_guard lock(mutex);
      outcomes.push_back(s);
    }
    co_return ForwardRequest{std::move(request)};
  }
  asio::awaitable<Frame> on_response(const RequestContext&, Frame response) override {
    co_return response;
  }
};

TEST(OwnUpstreamRequest, ResolvesAnUnknownTopicIdOutOfBandWhileClientResponsesStayInOrder) {
  KafkaCluster::Options options;
  options.label = "kafka-own-request";
  KafkaCluster cluster(options);
  const auto& broker = cluster.brokers()[0];
  const std::string topic = kenc::testworld::unique_topic("ids");
  cluster.create_topic(topic, 1, 1);
  auto produced = kenc::testworld::run_kcat(
      {"-b", cluster.bootstrap_servers(), "-t", topic, "-P", "-p", "0"}, "one\ntwo\nthree\n");
  ASSERT_EQ(produced.exit_code, 0) << produced.output;

  // The client's metadata comes from the broker itself, never through the proxy.
  kafka::Uuid topic_id{};
  {
    RawClient direct(static_cast<uint16_t>(broker.port));
    kafka::MetadataRequest metadata;
    metadata.topics.emplace();
    kafka::MetadataRequest::MetadataRequestTopic t;
    t.name = topic;
    metadata.topics->push_back(t);
    metadata.allow_auto_topic_creation = false;
    direct.send(request_frame(metadata, 12, 1));
    int32_t correlation_id = 0;
    auto response = decode_response<kafka::MetadataResponse>(direct.receive(), 12, &correlation_id);
    ASSERT_EQ(response.topics.size(), 1u);
    ASSERT_EQ(response.topics[0].error_code, 0);
    topic_id = response.topics[0].topic_id;
  }
  ASSERT_NE(topic_id, kafka::Uuid{});

  auto filter = std::make_shared<NamingFilter>();
  ProxyServerOptions proxy_options;
  proxy_options.worker_threads = 1;
  VirtualClusterSpec spec;
  spec.name = "own-request";
  spec.listen = HostPort{"127.0.0.1", 0};
  spec.upstream_servers = {HostPort{"127.0.0.1", static_cast<uint16_t>(broker.port)}};
  spec.filters = std::make_shared<FilterChain>(std::vector<std::shared_ptr<Filter>>{filter});
  proxy_options.clusters = {spec};
  proxy_options.drain_timeout = 2s;
  ProxyServer proxy(proxy_options);
  auto started = proxy.start();
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  ASSERT_FALSE(filter->map->name(topic_id).has_value());
  const uint16_t proxy_port = proxy.port(0);

  // Pipelined without waiting: ApiVersions with the very correlation id the connection gives
  // its first own request (INT32_MIN), the Fetch by topic id, then a Metadata request.
  RawClient client(proxy_port);
  kafka::ApiVersionsRequest api_versions;
  api_versions.client_software_name = "raw";
  api_versions.client_software_version = "1";
  client.send(request_frame(api_versions, 3, INT32_MIN));
  kafka::FetchRequest fetch;
  fetch.max_wait_ms = 0;
  fetch.min_bytes = 0;
  kafka::FetchRequest::FetchTopic ft;
  ft.topic_id = topic_id;
  kafka::FetchRequest::FetchPartition fp;
  fp.partition = 0;
  fp.fetch_offset = 0;
  fp.partition_max_bytes = 1 << 20;
  ft.partitions.push_back(fp);
  fetch.topics.push_back(ft);
  client.send(request_frame(fetch, 13, INT32_MIN + 1));
  kafka::MetadataRequest all_topics;
  all_topics.topics = std::nullopt;
  client.send(request_frame(all_topics, 12, 5));

  int32_t correlation_id = 0;
  kafka::Reader first{SharedBytes(client.receive())};
  kafka::ResponseHeader first_header;
  ASSERT_TRUE(first_header.decode(first, 0).ok());
  EXPECT_EQ(first_header.correlation_id, INT32_MIN) << "the ApiVersions response comes first";

  auto fetched = decode_response<kafka::FetchResponse>(client.receive(), 13, &correlation_id);
  EXPECT_EQ(correlation_id, INT32_MIN + 1);
  ASSERT_EQ(fetched.responses.size(), 1u);
  EXPECT_EQ(fetched.responses[0].topic_id, topic_id);
  ASSERT_EQ(fetched.responses[0].partitions.size(), 1u);
  EXPECT_EQ(fetched.responses[0].partitions[0].error_code, 0);
  EXPECT_EQ(fetched.responses[0].partitions[0].high_watermark, 3);
  ASSERT_TRUE(fetched.responses[0].partitions[0].records.has_value());
  EXPECT_GT(fetched.responses[0].partitions[0].records->size(), 0u);

  auto metadata = decode_response<kafka::MetadataResponse>(client.receive(), 12, &correlation_id);
  EXPECT_EQ(correlation_id, 5);
  EXPECT_FALSE(metadata.brokers.empty());

  EXPECT_EQ(filter->map->name(topic_id), topic) << "learned from the broker, out of band";
  std::lock_guard lock(filter->mutex);
  ASSERT_EQ(filter->outcomes.size(), 1u);
  EXPECT_TRUE(filter->outcomes[0].ok()) << filter->outcomes[0].error().to_string();
  proxy.drain();
}

}  // namespace
}  // namespace kenc::proxy
