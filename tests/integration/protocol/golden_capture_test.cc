// Golden tests against real traffic: a real Kafka 4.1.1 broker advertises a recording relay, so
// every byte that real clients (the Java producer, consumer and admin client, librdkafka through
// kcat) and the broker exchange passes through it. Every recorded request and response frame
// must decode with the generated messages and re-encode to exactly the same bytes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/kafka/frame.h"
#include "common/kafka/protocol/api_table.h"
#include "common/kafka/protocol/dispatch.h"
#include "common/kafka/protocol/generated/produce_request.h"
#include "common/kafka/protocol/headers.h"
#include "tests/integration/protocol/recording_relay.h"
#include "tests/world/kafka/java_client.h"
#include "tests/world/kafka/kafka_environment.h"

namespace kenc::kafka {
namespace {

using testworld::JavaClient;
using testworld::KafkaEnvironment;
using testworld::TestRecord;

testing::RecordingRelay* g_relay = nullptr;

struct Checked {
  std::map<std::string, int> frames_by_api;  // e.g. "ProduceRequest v12" -> count
  size_t frames = 0;
  size_t bytes = 0;
};

std::vector<SharedBytes> split_frames(const std::vector<uint8_t>& stream) {
  std::vector<SharedBytes> frames;
  size_t pos = 0;
  while (stream.size() - pos >= kFrameSizeBytes) {
    std::span<const uint8_t, kFrameSizeBytes> prefix(stream.data() + pos, kFrameSizeBytes);
    Result<int32_t> size = parse_frame_size(prefix, kDefaultMaxFrameBytes);
    EXPECT_TRUE(size.ok());
    if (!size.ok() || stream.size() - pos - kFrameSizeBytes < static_cast<size_t>(*size)) {
      break;  // a connection closed in the middle of a frame
    }
    auto begin = stream.begin() + static_cast<std::ptrdiff_t>(pos + kFrameSizeBytes);
    frames.emplace_back(std::vector<uint8_t>(begin, begin + *size));
    pos += kFrameSizeBytes + static_cast<size_t>(*size);
  }
  return frames;
}

// With KENC_FUZZ_SEED_DIR set, each distinct (API, version, direction) body seen is written there
// in the message_decoder_fuzzer's input format (int16 key, int16 version, kind byte, body): the
// seed corpus in tests/fuzz/corpus/message_decoder/ is made this way, from real traffic.
void save_fuzz_seed(int16_t api_key, int16_t version, MessageKind kind,
                    std::span<const uint8_t> body) {
  const char* dir = std::getenv("KENC_FUZZ_SEED_DIR");
  if (dir == nullptr || *dir == '\0') return;
  std::filesystem::create_directories(std::string(dir) + "/message_decoder");
  std::string name = std::string(dir) + "/message_decoder/" + std::to_string(api_key) + "-v" +
                     std::to_string(version) +
                     (kind == MessageKind::kRequest ? "-request" : "-response");
  if (std::filesystem::exists(name)) return;
  std::ofstream out(name, std::ios::binary);
  const uint8_t prefix[5] = {static_cast<uint8_t>(api_key >> 8), static_cast<uint8_t>(api_key),
                             static_cast<uint8_t>(version >> 8), static_cast<uint8_t>(version),
                             static_cast<uint8_t>(kind == MessageKind::kRequest ? 0 : 1)};
  out.write(reinterpret_cast<const char*>(prefix), sizeof prefix);
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
}

// Writes `bytes` as seed `name` of the fuzzer corpus `corpus` (under KENC_FUZZ_SEED_DIR).
void save_seed(const std::string& corpus, const std::string& name, std::span<const uint8_t> bytes) {
  const char* dir = std::getenv("KENC_FUZZ_SEED_DIR");
  if (dir == nullptr || *dir == '\0') return;
  std::filesystem::create_directories(std::string(dir) + "/" + corpus);
  std::string file = name;
  for (char& c : file) c = (c == ' ') ? '-' : c;
  std::string path = std::string(dir) + "/" + corpus + "/" + file;
  if (std::filesystem::exists(path)) return;
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// Decodes and re-encodes every frame of one recorded connection.
void check_connection(const testing::RecordingRelay::Connection& c, Checked& checked) {
  std::map<int32_t, RequestHeader> requests;  // by correlation id
  for (const SharedBytes& frame : split_frames(c.client_to_server)) {
    Reader reader(frame);
    Result<RequestHeader> header = decode_request_header(reader);
    ASSERT_TRUE(header.ok()) << header.error().to_string();
    const int16_t header_version = *request_header_version(header->api_key, header->api_version);
    save_fuzz_seed(header->api_key, header->api_version, MessageKind::kRequest,
                   frame.view().subspan(reader.position()));
    Result<std::unique_ptr<Message>> body =
        decode_message(header->api_key, MessageKind::kRequest, header->api_version, reader);
    const std::string what = std::string(find_api(header->api_key)->name) + "Request v" +
                             std::to_string(header->api_version);
    ASSERT_TRUE(body.ok()) << what << ": " << body.error().to_string();
    EXPECT_EQ(reader.remaining(), 0u) << what;
    std::vector<uint8_t> framed = {
        static_cast<uint8_t>(frame.size() >> 24), static_cast<uint8_t>(frame.size() >> 16),
        static_cast<uint8_t>(frame.size() >> 8), static_cast<uint8_t>(frame.size())};
    framed.insert(framed.end(), frame.view().begin(), frame.view().end());
    save_seed("frame_reader", what, framed);
    if (const auto* produce = message_cast<ProduceRequest>(**body)) {
      for (const auto& topic : produce->topic_data) {
        for (const auto& partition : topic.partition_data) {
          if (partition.records) save_seed("record_batch", what, partition.records->view());
        }
      }
    }
    Writer writer;
    ASSERT_TRUE(header->encode(writer, header_version).ok()) << what;
    ASSERT_TRUE((*body)->encode(writer, header->api_version).ok()) << what;
    EXPECT_TRUE(std::ranges::equal(writer.bytes(), frame.view())) << what << " not byte-exact";
    requests[header->correlation_id] = *header;
    ++checked.frames_by_api[what];
    ++checked.frames;
    checked.bytes += frame.size();
  }
  for (const SharedBytes& frame : split_frames(c.server_to_client)) {
    Result<int32_t> correlation_id = peek_response_correlation_id(frame.view());
    ASSERT_TRUE(correlation_id.ok());
    auto request = requests.find(*correlation_id);
    ASSERT_NE(request, requests.end()) << "response without request " << *correlation_id;
    const int16_t api_key = request->second.api_key;
    const int16_t version = request->second.api_version;
    const int16_t header_version = *response_header_version(api_key, version);
    const std::string what =
        std::string(find_api(api_key)->name) + "Response v" + std::to_string(version);
    Reader reader(frame);
    ResponseHeader header;
    ASSERT_TRUE(header.decode(reader, header_version).ok()) << what;
    save_fuzz_seed(api_key, version, MessageKind::kResponse,
                   frame.view().subspan(reader.position()));
    Result<std::unique_ptr<Message>> body =
        decode_message(api_key, MessageKind::kResponse, version, reader);
    ASSERT_TRUE(body.ok()) << what << ": " << body.error().to_string();
    EXPECT_EQ(reader.remaining(), 0u) << what;
    Writer writer;
    ASSERT_TRUE(header.encode(writer, header_version).ok()) << what;
    ASSERT_TRUE((*body)->encode(writer, version).ok()) << what;
    EXPECT_TRUE(std::ranges::equal(writer.bytes(), frame.view())) << what << " not byte-exact";
    ++checked.frames_by_api[what];
    ++checked.frames;
    checked.bytes += frame.size();
  }
}

std::vector<TestRecord> sample_records(int count) {
  std::vector<TestRecord> records;
  for (int i = 0; i < count; ++i) {
    TestRecord r;
    r.key = "key-" + std::to_string(i);
    r.value = "value-" + std::to_string(i) + std::string(static_cast<size_t>(i % 40), 'v');
    r.headers.emplace_back("h", "x");
    records.push_back(r);
  }
  return records;
}

TEST(GoldenCaptureTest, RealClientAndBrokerFramesReencodeByteForByte) {
  auto& cluster = KafkaEnvironment::cluster();
  g_relay->set_upstream_port(cluster.brokers().at(0).port);
  const std::string bootstrap = "127.0.0.1:" + std::to_string(g_relay->port());
  const std::string topic = testworld::unique_topic("golden");
  cluster.create_topic(topic, 2);

  // Java clients: idempotent compressed producer, a transactional one, a consumer group
  // (KIP-848 protocol), and the admin client.
  auto records = sample_records(200);
  JavaClient::produce(bootstrap, topic, records, {{"compression.type", "lz4"}});
  JavaClient::produce(bootstrap, topic, sample_records(20), {}, "golden-tx");
  auto consumed =
      JavaClient::consume(bootstrap, topic, 220, {{"group.protocol", "consumer"}}, "golden-group");
  EXPECT_EQ(consumed.size(), 220u);
  JavaClient::admin(bootstrap, {"describe-cluster"});
  JavaClient::admin(bootstrap, {"describe-topic", topic});

  // librdkafka through kcat: produce, then consume everything.
  std::string lines;
  for (int i = 0; i < 50; ++i) {
    lines += "kcat-" + std::to_string(i) + "\n";
  }
  auto produced = testworld::run_kcat({"-P", "-b", bootstrap, "-t", topic, "-z", "snappy"}, lines);
  EXPECT_EQ(produced.exit_code, 0) << produced.output;
  auto fetched = testworld::run_kcat(
      {"-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-c", "270", "-e", "-q"});
  EXPECT_EQ(fetched.exit_code, 0) << fetched.output;

  std::vector<testing::RecordingRelay::Connection> connections = g_relay->stop();
  Checked checked;
  for (const auto& c : connections) {
    check_connection(c, checked);
  }
  for (const auto& [api, count] : checked.frames_by_api) {
    std::cout << "  " << api << ": " << count << " frames\n";
  }
  std::cout << "checked " << checked.frames << " frames, " << checked.bytes << " bytes, over "
            << connections.size() << " connections\n";
  std::set<std::string> apis;
  for (const auto& [api, count] : checked.frames_by_api) {
    apis.insert(api.substr(0, api.find(' ')));
  }
  for (const char* expected :
       {"ApiVersionsRequest", "ApiVersionsResponse", "MetadataRequest", "MetadataResponse",
        "ProduceRequest", "ProduceResponse", "FetchRequest", "FetchResponse",
        "FindCoordinatorRequest", "ConsumerGroupHeartbeatRequest", "InitProducerIdRequest",
        "EndTxnRequest"}) {
    EXPECT_TRUE(apis.contains(expected)) << expected << " was not seen";
  }
}

}  // namespace
}  // namespace kenc::kafka

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // The relay listens before the broker starts, so that the broker can advertise it: then
  // every client connection, not only the bootstrap one, passes through the relay.
  kenc::testing::RecordingRelay relay;
  kenc::kafka::g_relay = &relay;
  kenc::testworld::KafkaCluster::Options options;
  options.label = "golden";
  options.broker_config["advertised.listeners"] =
      "PLAINTEXT://127.0.0.1:" + std::to_string(relay.port());
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::KafkaEnvironment(options));
  return RUN_ALL_TESTS();
}
