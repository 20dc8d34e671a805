// Fetch read-ahead (docs/record-encryption.md#fetch-read-ahead) with real consumers that are
// behind: the Java client and librdkafka get every record exactly once and in offset order when
// the proxy answers their Fetch requests from responses it fetched and decrypted ahead of them,
// read_committed consumers included.
#include <gtest/gtest.h>

#include "tests/integration/encryption/encryption_support.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/python_client.h"

namespace kenc::testworld::e2e {
namespace {

class ReadAhead : public EndToEndTest {
 protected:
  double used() const {
    return proxy_metric(0, "kenc_proxy_encryption_fetch_read_aheads_total", {"outcome=\"used\""});
  }
};

// `count` records of 100-byte values, spread over `partitions`.
std::vector<TestRecord> values_of_100_bytes(int count, const std::string& prefix, int partitions) {
  std::vector<TestRecord> records;
  for (int i = 0; i < count; ++i) {
    TestRecord r;
    r.key = prefix + "-" + std::to_string(i);
    r.value = prefix + "-" + std::string(100 - prefix.size() - 1, static_cast<char>('a' + i % 26));
    r.partition = i % partitions;
    records.push_back(std::move(r));
  }
  return records;
}

TEST_F(ReadAhead, ConsumersThatAreBehindGetEveryRecordOnceAndInOrder) {
  // 12,000 records over 3 partitions, fetched 16 KiB per partition at a time: each consumer
  // makes dozens of Fetch requests, each response fills its limit, so the proxy reads ahead.
  const std::string topic = unique_topic("enc");
  create_topic(topic, 3);
  auto sent =
      JavaClient::produce(stack().proxy_bootstrap(), topic, values_of_100_bytes(12000, "ahead", 3),
                          {{"linger.ms", "20"}, {"batch.size", "8192"}});
  const Properties small_fetches{{"max.partition.fetch.bytes", "16384"}};

  const double before_java = used();
  expect_identical(
      sent, JavaClient::consume(stack().proxy_bootstrap(), topic, sent.size(), small_fetches),
      "Java consumer through the proxy");
  const double java_used = used() - before_java;
  EXPECT_GE(java_used, 10) << "responses read ahead that answered the Java consumer";

  const double before_rdk = used();
  expect_identical(
      sent, PythonClient::consume(stack().proxy_bootstrap(), topic, sent.size(), small_fetches),
      "librdkafka consumer through the proxy");
  const double rdk_used = used() - before_rdk;
  EXPECT_GE(rdk_used, 10) << "responses read ahead that answered the librdkafka consumer";
  std::cout << "[read-ahead] used for Java: " << java_used << ", for librdkafka: " << rdk_used
            << "\n";
}

TEST_F(ReadAhead, ReadCommittedConsumersSkipAbortedTransactionsInResponsesReadAhead) {
  // Committed, aborted and committed again, 600 records each, read 2 KiB per partition at a
  // time: responses read ahead carry the aborted transactions' markers and records.
  const std::string topic = unique_topic("enc");
  create_topic(topic, 2);
  const Properties props{{"acks", "all"}, {"linger.ms", "5"}, {"batch.size", "2048"}};
  auto first = JavaClient::produce(stack().proxy_bootstrap(), topic,
                                   values_of_100_bytes(600, "txa", 2), props, "ra-first-" + topic,
                                   /*abort=*/false);
  try {
    JavaClient::produce(stack().proxy_bootstrap(), topic, values_of_100_bytes(600, "txb", 2), props,
                        "ra-aborted-" + topic, /*abort=*/true);
  } catch (const std::runtime_error& e) {
    // The test client reports the batches the abort failed (not yet sent) after the abort.
    ASSERT_NE(std::string(e.what()).find("TransactionAbortedException"), std::string::npos)
        << e.what();
  }
  auto second =
      JavaClient::produce(stack().proxy_bootstrap(), topic, values_of_100_bytes(600, "txc", 2),
                          props, "ra-second-" + topic, /*abort=*/false);
  auto committed = first;
  committed.insert(committed.end(), second.begin(), second.end());
  const Properties read_committed{{"isolation.level", "read_committed"},
                                  {"max.partition.fetch.bytes", "2048"}};

  const double before = used();
  expect_identical(
      committed,
      JavaClient::consume(stack().proxy_bootstrap(), topic, committed.size(), read_committed),
      "read_committed Java consumer through the proxy");
  expect_identical(
      committed,
      PythonClient::consume(stack().proxy_bootstrap(), topic, committed.size(), read_committed),
      "read_committed librdkafka consumer through the proxy");
  EXPECT_GE(used() - before, 10) << "responses read ahead that answered the consumers";
}

}  // namespace
}  // namespace kenc::testworld::e2e
