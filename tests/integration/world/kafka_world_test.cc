// The test world itself: a real Kafka broker started from Maven jars, driven by two real clients.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "tests/world/kafka/java_client.h"
#include "tests/world/kafka/kafka_environment.h"

namespace kenc::testworld {
namespace {

TestRecord make_record(const std::string& key, const std::string& value) {
  TestRecord r;
  r.key = key;
  r.value = value;
  return r;
}

// Produces keyed records with librdkafka's C API and waits for every delivery report.
void produce_with_librdkafka(const std::string& bootstrap, const std::string& topic,
                             const std::vector<TestRecord>& records) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err),
            RD_KAFKA_CONF_OK);
  ASSERT_EQ(rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err),
            RD_KAFKA_CONF_OK);
  static int delivered_ok;
  static int delivery_errors;
  delivered_ok = 0;
  delivery_errors = 0;
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++delivered_ok;
    } else {
      ++delivery_errors;
    }
  });
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  for (const auto& r : records) {
    int rc = rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                              const_cast<char*>(r.value->data()), r.value->size(), r.key->data(),
                              r.key->size(), nullptr);
    ASSERT_EQ(rc, 0) << rd_kafka_err2str(rd_kafka_last_error());
    rd_kafka_poll(rk, 0);
  }
  EXPECT_EQ(rd_kafka_flush(rk, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  EXPECT_EQ(delivery_errors, 0);
  EXPECT_EQ(delivered_ok, static_cast<int>(records.size()));
}

TEST(KafkaWorld, LibrdkafkaProducesAndTheJavaConsumerReadsEveryRecord) {
  auto& cluster = KafkaEnvironment::cluster();
  const std::string topic = unique_topic();
  cluster.create_topic(topic, 3);

  std::vector<TestRecord> sent;
  for (int i = 0; i < 1000; ++i) {
    TestRecord r;
    r.key = "key-" + std::to_string(i);
    r.value = "value-" + std::to_string(i) + std::string(static_cast<size_t>(i % 50), 'x');
    sent.push_back(r);
  }
  produce_with_librdkafka(cluster.bootstrap_servers(), topic, sent);

  auto received = JavaClient::consume(cluster.bootstrap_servers(), topic, sent.size());
  ASSERT_EQ(received.size(), sent.size());
  std::map<std::string, std::string> by_key;
  for (const auto& r : received) {
    ASSERT_TRUE(r.key.has_value());
    ASSERT_TRUE(r.value.has_value());
    EXPECT_TRUE(by_key.emplace(*r.key, *r.value).second) << "duplicate key " << *r.key;
  }
  for (const auto& s : sent) {
    auto it = by_key.find(*s.key);
    ASSERT_NE(it, by_key.end()) << "missing " << *s.key;
    EXPECT_EQ(it->second, *s.value);
  }
}

TEST(KafkaWorld, JavaProducerAndConsumerRoundTripNullsHeadersAndBinary) {
  auto& cluster = KafkaEnvironment::cluster();
  const std::string topic = unique_topic();
  cluster.create_topic(topic, 1);
  std::vector<TestRecord> sent(3);
  sent[0].key = std::string("\0\x01\xff", 3);
  sent[0].value = std::string("\x80\x00binary", 8);
  sent[0].headers = {{"h1", std::string("v1")}, {"h-null", std::nullopt}};
  sent[1].key = std::nullopt;
  sent[1].value = "no key";
  sent[2].key = "tombstone";
  sent[2].value = std::nullopt;
  auto acked = JavaClient::produce(cluster.bootstrap_servers(), topic, sent,
                                   {{"acks", "all"}, {"enable.idempotence", "true"}});
  ASSERT_EQ(acked.size(), 3u);
  EXPECT_EQ(acked[2].offset, 2);

  auto received = JavaClient::consume(cluster.bootstrap_servers(), topic, 3);
  ASSERT_EQ(received.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(received[i].same_content(sent[i])) << "record " << i;
    EXPECT_EQ(received[i].offset, static_cast<int64_t>(i));
  }
}

TEST(KafkaWorld, KcatSeesTheBroker) {
  auto& cluster = KafkaEnvironment::cluster();
  auto result = run_kcat({"-b", cluster.bootstrap_servers(), "-L", "-J"});
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto md = nlohmann::json::parse(result.output);
  ASSERT_EQ(md["brokers"].size(), 1u);
  EXPECT_EQ(md["brokers"][0]["id"].get<int>(), cluster.brokers()[0].node_id);
}

TEST(KafkaWorld, LogSegmentsAreOnDiskWhereTheFixtureSays) {
  auto& cluster = KafkaEnvironment::cluster();
  const std::string topic = unique_topic();
  cluster.create_topic(topic, 1);
  JavaClient::produce(cluster.bootstrap_servers(), topic, {make_record("k", "findable-plaintext")});
  bool found = false;
  for (const auto& dir : cluster.log_dirs()) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (entry.path().extension() == ".log" &&
          entry.path().parent_path().filename().string().rfind(topic, 0) == 0) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), {});
        if (data.find("findable-plaintext") != std::string::npos) found = true;
      }
    }
  }
  EXPECT_TRUE(found) << "a value written to the broker must appear in its segment files";
}

TEST(KafkaWorld, ThreeBrokerClusterListsThreeBrokersAndSurvivesAKilledOne) {
  KafkaCluster::Options options;
  options.brokers = 3;
  options.label = "kafka3";
  KafkaCluster three(options);
  auto md = JavaClient::admin(three.bootstrap_servers(), {"describe-cluster"});
  EXPECT_EQ(md["nodes"].size(), 3u);
  const std::string topic = unique_topic();
  three.create_topic(topic, 3, 3);
  auto d = JavaClient::admin(three.bootstrap_servers(), {"describe-topic", topic});
  EXPECT_EQ(d["partitions"].get<int>(), 3);

  // Fault injection: with one of three brokers killed, acks=all still succeeds (two in-sync
  // replicas remain); once restarted, the broker answers on its own port and serves the data.
  three.kill_broker(2);
  EXPECT_FALSE(three.broker_running(2));
  std::vector<TestRecord> sent;
  for (int i = 0; i < 10; ++i) sent.push_back(make_record("k" + std::to_string(i), "during-fault"));
  auto acked = JavaClient::produce(three.bootstrap_servers(), topic, sent,
                                   {{"acks", "all"}, {"delivery.timeout.ms", "60000"}});
  EXPECT_EQ(acked.size(), sent.size());
  three.start_broker(2);
  EXPECT_TRUE(three.broker_running(2));
  const auto restarted = "127.0.0.1:" + std::to_string(three.brokers()[2].port);
  auto received = JavaClient::consume(restarted, topic, sent.size());
  EXPECT_EQ(received.size(), sent.size());
}

}  // namespace
}  // namespace kenc::testworld

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::KafkaEnvironment());
  return RUN_ALL_TESTS();
}
