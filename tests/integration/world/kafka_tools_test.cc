// The world's other clients and checks on a real broker: the Python client (confluent-kafka)
// against the Java one, Kafka's perf tools with parsed summaries, and segment-file scans.
#include <gtest/gtest.h>

#include <iostream>
#include <map>

#include "tests/world/kafka/java_client.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/kafka_perf.h"
#include "tests/world/kafka/python_client.h"
#include "tests/world/kafka/segment_scan.h"

namespace kenc::testworld {
namespace {

std::vector<TestRecord> mixed_records() {
  std::vector<TestRecord> records(4);
  records[0].key = std::string("\0\x01\xfe", 3);
  records[0].value = std::string("\xff\x00python-binary", 15);
  records[0].headers = {{"h1", std::string("v1")}, {"h-null", std::nullopt}};
  records[1].key = std::nullopt;
  records[1].value = "no key";
  records[2].key = "tombstone";
  records[2].value = std::nullopt;
  records[3].key = "k3";
  records[3].value = std::string(5000, 'z');
  return records;
}

TEST(KafkaTools, PythonProducesJavaConsumes) {
  auto& cluster = KafkaEnvironment::cluster();
  const std::string topic = unique_topic("py");
  cluster.create_topic(topic, 1);
  const auto sent = mixed_records();
  auto acked = PythonClient::produce(cluster.bootstrap_servers(), topic, sent,
                                     {{"acks", "all"}, {"compression.type", "lz4"}});
  ASSERT_EQ(acked.size(), sent.size());
  EXPECT_EQ(acked.back().offset, 3);

  auto received = JavaClient::consume(cluster.bootstrap_servers(), topic, sent.size());
  ASSERT_EQ(received.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_TRUE(received[i].same_content(sent[i])) << "record " << i;
  }
}

TEST(KafkaTools, JavaProducesPythonConsumesWithAssignmentAndWithAGroup) {
  auto& cluster = KafkaEnvironment::cluster();
  const std::string topic = unique_topic("py");
  cluster.create_topic(topic, 1);
  const auto sent = mixed_records();
  JavaClient::produce(cluster.bootstrap_servers(), topic, sent, {{"compression.type", "zstd"}});

  auto assigned = PythonClient::consume(cluster.bootstrap_servers(), topic, sent.size());
  ASSERT_EQ(assigned.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_TRUE(assigned[i].same_content(sent[i])) << "record " << i;
    EXPECT_EQ(assigned[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(assigned[i].timestamp_type, "CreateTime");
  }
  auto grouped = PythonClient::consume(cluster.bootstrap_servers(), topic, sent.size(), {},
                                       "py-group-" + topic);
  EXPECT_EQ(grouped.size(), sent.size());
}

TEST(KafkaTools, PerfToolsReportParsedFigures) {
  auto& cluster = KafkaEnvironment::cluster();
  const std::string topic = unique_topic("perf");
  cluster.create_topic(topic, 2);
  ProducerPerfOptions produce;
  produce.topic = topic;
  produce.num_records = 20000;
  produce.record_size = 1024;
  produce.producer_props = {{"acks", "all"}, {"linger.ms", "5"}};
  auto p = run_producer_perf(cluster.bootstrap_servers(), produce);
  EXPECT_EQ(p.records, 20000);
  EXPECT_GT(p.records_per_sec, 0);
  EXPECT_GT(p.mb_per_sec, 0);
  EXPECT_LE(p.p50_ms, p.p99_ms);
  EXPECT_LE(p.p99_ms, p.max_latency_ms + 1);
  std::cout << "[figure] ProducerPerformance 20000 x 1 KiB, acks=all: " << p.records_per_sec
            << " rec/s, " << p.mb_per_sec << " MB/s, p99 " << p.p99_ms << " ms\n";

  ConsumerPerfOptions consume;
  consume.topic = topic;
  consume.messages = 20000;
  consume.consumer_props = {{"fetch.max.bytes", "8388608"}};
  auto c = run_consumer_perf(cluster.bootstrap_servers(), consume);
  EXPECT_EQ(c.messages, 20000);
  EXPECT_NEAR(c.mb, 20000 * 1024 / (1024.0 * 1024.0), 0.01);
  EXPECT_GT(c.messages_per_sec, 0);
  std::cout << "[figure] ConsumerPerformance 20000 x 1 KiB: " << c.messages_per_sec << " rec/s, "
            << c.mb_per_sec << " MB/s (fetch " << c.fetch_messages_per_sec << " rec/s)\n";
}

TEST(KafkaTools, SegmentScanFindsPlaintextOnlyInItsTopic) {
  auto& cluster = KafkaEnvironment::cluster();
  const std::string topic = unique_topic("scan");
  const std::string neighbour = topic + "-0";  // a name that a sloppy prefix match would catch
  cluster.create_topic(topic, 2);
  cluster.create_topic(neighbour, 1);
  std::vector<TestRecord> records(2);
  records[0].key = "a";
  records[0].value = "plaintext-secret-one";
  records[1].key = "b";
  records[1].value = "plaintext-secret-two";
  JavaClient::produce(cluster.bootstrap_servers(), topic, records);
  std::vector<TestRecord> other(1);
  other[0].value = "only-in-the-neighbour";
  JavaClient::produce(cluster.bootstrap_servers(), neighbour, other);

  const std::vector<std::string> needles = {"plaintext-secret-one", "plaintext-secret-two",
                                            "only-in-the-neighbour", "never-written"};
  auto scan = scan_segments(cluster.log_dirs(), topic, needles);
  EXPECT_EQ(scan.files, 2u) << "one active segment per partition";
  EXPECT_GT(scan.bytes, 0u);
  EXPECT_TRUE(scan.found(0)) << scan.describe(needles);
  EXPECT_TRUE(scan.found(1)) << scan.describe(needles);
  EXPECT_FALSE(scan.found(2)) << scan.describe(needles);
  EXPECT_FALSE(scan.found(3)) << scan.describe(needles);
  EXPECT_TRUE(scan_segments(cluster.log_dirs(), neighbour, needles).found(2));
}

}  // namespace
}  // namespace kenc::testworld

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::KafkaEnvironment());
  return RUN_ALL_TESTS();
}
