// Records written through the encrypting proxy by the real Java and librdkafka clients come back
// through the proxy exactly as sent, are stored as cipher records, and never reach the broker's
// disk in plaintext. Null values and `plaintext` topics are left alone.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/integration/encryption/encryption_support.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/python_client.h"
#include "tests/world/kafka/segment_scan.h"

namespace kenc::testworld::e2e {
namespace {

class RoundTrip : public EndToEndTest {};

TEST_F(RoundTrip, JavaProducerThroughTheProxyRecordsComeBackIdentical) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 3);
  const double encrypted_before =
      proxy_metric(0, "kenc_proxy_encryption_records_total", {"operation=\"encrypt\""});
  auto sent = JavaClient::produce(stack().proxy_bootstrap(), topic,
                                  rich_records(60, "java", 3, /*null_header_value=*/true),
                                  {{"acks", "all"}, {"linger.ms", "20"}});

  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(), topic, sent.size()),
                   "Java consumer through the proxy");
  expect_cipher_records(sent, JavaClient::consume(stack().direct_bootstrap(), topic, sent.size()),
                        "Java consumer reading the broker directly");
  expect_no_plaintext_on_disk(topic, values_of(sent));
  EXPECT_GE(proxy_metric(0, "kenc_proxy_encryption_records_total", {"operation=\"encrypt\""}),
            encrypted_before + 60);
}

TEST_F(RoundTrip, LibrdkafkaProducerThroughTheProxyAllConsumersSeeIdenticalRecords) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 2);
  auto sent = PythonClient::produce(stack().proxy_bootstrap(), topic, rich_records(50, "rdk", 2),
                                    {{"acks", "all"}, {"linger.ms", "20"}});

  expect_identical(sent, PythonClient::consume(stack().proxy_bootstrap(), topic, sent.size()),
                   "librdkafka consumer through the proxy");
  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(), topic, sent.size()),
                   "Java consumer through the proxy");
  expect_cipher_records(sent, PythonClient::consume(stack().direct_bootstrap(), topic, sent.size()),
                        "librdkafka consumer reading the broker directly");
  expect_no_plaintext_on_disk(topic, values_of(sent));
}

TEST_F(RoundTrip, KcatProducesAndConsumesThroughTheProxy) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 1);
  std::string input;
  std::vector<std::string> values;
  for (int i = 0; i < 30; ++i) {
    values.push_back("kcat-secret-value-" + std::to_string(i) + "-0123456789");
    input += "k" + std::to_string(i) + ":" + values.back() + "\n";
  }
  auto produced = run_kcat({"-b", stack().proxy_bootstrap(), "-t", topic, "-P", "-K", ":", "-X",
                            "enable.idempotence=true", "-H", "origin=kcat"},
                           input);
  ASSERT_EQ(produced.exit_code, 0) << produced.output;

  auto consumed = run_kcat({"-b", stack().proxy_bootstrap(), "-t", topic, "-C", "-o", "beginning",
                            "-e", "-q", "-f", "%k|%s|%h\\n"});
  ASSERT_EQ(consumed.exit_code, 0) << consumed.output;
  std::string expected;
  for (int i = 0; i < 30; ++i) {
    expected += "k" + std::to_string(i) + "|" + values[static_cast<size_t>(i)] + "|origin=kcat\n";
  }
  EXPECT_EQ(consumed.output, expected);

  auto direct = run_kcat({"-b", stack().direct_bootstrap(), "-t", topic, "-C", "-o", "beginning",
                          "-e", "-q", "-f", "%k|%h\\n"});
  ASSERT_EQ(direct.exit_code, 0) << direct.output;
  size_t lines = 0;
  std::istringstream in(direct.output);
  for (std::string line; std::getline(in, line); ++lines) {
    EXPECT_NE(line.find("origin=kcat"), std::string::npos) << line;
    EXPECT_NE(line.find("kenc="), std::string::npos) << line;
  }
  EXPECT_EQ(lines, values.size());
  expect_no_plaintext_on_disk(topic, values);
}

TEST_F(RoundTrip, LargeFetchesAreSharedWithAHelperThreadAndComeBackIdentical) {
  // 1,800 records of about 1 KiB over 3 partitions: a consumer starting from the beginning gets
  // Fetch responses of well over 256 KiB, whose decryption the worker shares with the stack's
  // proxy helper thread (2 workers, so 1 helper by default).
  const std::string topic = unique_topic("enc");
  create_topic(topic, 3);
  std::vector<TestRecord> records;
  for (int i = 0; i < 1800; ++i) {
    TestRecord r;
    r.key = "large-" + std::to_string(i);
    std::string value = "large-fetch-secret-" + std::to_string(i) + "-";
    while (value.size() < 1000) value += static_cast<char>('a' + (i + value.size()) % 26);
    r.value = value;
    r.partition = i % 3;
    records.push_back(std::move(r));
  }
  auto sent = JavaClient::produce(stack().proxy_bootstrap(), topic, records,
                                  {{"acks", "all"}, {"linger.ms", "20"}});
  const double shared_before = proxy_metric(0, "kenc_proxy_encryption_shared_decryptions_total");

  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(), topic, sent.size()),
                   "Java consumer through the proxy");
  EXPECT_GE(proxy_metric(0, "kenc_proxy_encryption_shared_decryptions_total"), shared_before + 1);
  expect_no_plaintext_on_disk(topic, values_of(sent));
}

TEST_F(RoundTrip, ConsumersGetAsManyRecordsPerFetchAsTheirByteLimitsAskFor) {
  // 8,000 records of 100-byte values in small batches. Stored as cipher records they take about
  // twice their plaintext size; a broker filling each fetch with at most 64 KiB of them (the
  // consumer's limit, were it forwarded as it came) needs at least stored / 64 KiB fetches. The
  // proxy scales the limit by what decryption takes off, so the consumer gets about 64 KiB of
  // plaintext per fetch and needs about half as many (measured: 19 fetches with scaling, 43
  // without it, for 35 as that minimum).
  const std::string topic = unique_topic("enc");
  create_topic(topic, 1);
  std::vector<TestRecord> records;
  for (int i = 0; i < 8000; ++i) {
    TestRecord r;
    r.key = "fetch-" + std::to_string(i);
    r.value = std::string(100, static_cast<char>('a' + i % 26));
    records.push_back(std::move(r));
  }
  auto sent = JavaClient::produce(stack().proxy_bootstrap(), topic, records,
                                  {{"linger.ms", "50"}, {"batch.size", "4096"}});
  const double stored = static_cast<double>(stored_bytes(topic));
  const double fetches_before = proxy_metric(0, "kenc_proxy_requests_total", {"api_key=\"1\""});

  expect_identical(sent,
                   JavaClient::consume(stack().proxy_bootstrap(), topic, sent.size(),
                                       {{"max.partition.fetch.bytes", "65536"}}),
                   "Java consumer through the proxy");
  const double fetches =
      proxy_metric(0, "kenc_proxy_requests_total", {"api_key=\"1\""}) - fetches_before;
  const double unscaled_minimum = stored / 65536.0;
  EXPECT_LT(fetches, 0.75 * unscaled_minimum)
      << fetches << " fetches for " << stored << " bytes of cipher records";
  EXPECT_GT(fetches, 0.0);
}

TEST_F(RoundTrip, NullValuesStayNullAndNeighboursAreEncrypted) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 1, {{"cleanup.policy", "compact"}});
  auto records = rich_records(40, "tomb", 1);
  for (size_t i = 0; i < records.size(); i += 3) records[i].value.reset();
  // An empty value is a value, not a tombstone: it is encrypted like any other.
  records[1].value = "";

  auto java = JavaClient::produce(stack().proxy_bootstrap(), topic, records, {{"linger.ms", "20"}});
  auto rdk =
      PythonClient::produce(stack().proxy_bootstrap(), topic, records, {{"linger.ms", "20"}});
  auto sent = java;
  sent.insert(sent.end(), rdk.begin(), rdk.end());

  auto through = JavaClient::consume(stack().proxy_bootstrap(), topic, sent.size());
  expect_identical(sent, through, "Java consumer through the proxy");
  size_t nulls = 0;
  for (const auto& r : through) nulls += r.value.has_value() ? 0 : 1;
  EXPECT_EQ(nulls, 2u * 14u);
  expect_identical(sent, PythonClient::consume(stack().proxy_bootstrap(), topic, sent.size()),
                   "librdkafka consumer through the proxy");
  expect_cipher_records(sent, JavaClient::consume(stack().direct_bootstrap(), topic, sent.size()),
                        "Java consumer reading the broker directly");
  expect_no_plaintext_on_disk(topic, values_of(sent));
}

TEST_F(RoundTrip, PlaintextTopicsComeThroughByteIdentical) {
  const std::string topic = unique_topic("plain");
  create_topic(topic, 2);
  auto through_proxy =
      JavaClient::produce(stack().proxy_bootstrap(), topic, rich_records(30, "pj", 2));
  auto rdk = PythonClient::produce(stack().proxy_bootstrap(), topic, rich_records(30, "pr", 2));
  through_proxy.insert(through_proxy.end(), rdk.begin(), rdk.end());
  // Records written around the proxy read the same through it.
  auto direct_written =
      JavaClient::produce(stack().direct_bootstrap(), topic, rich_records(20, "pd", 2));
  auto all = through_proxy;
  all.insert(all.end(), direct_written.begin(), direct_written.end());

  auto stored = JavaClient::consume(stack().direct_bootstrap(), topic, all.size());
  expect_identical(all, stored, "Java consumer reading the broker directly");
  for (const auto& r : stored) {
    for (const auto& h : r.headers) EXPECT_NE(h.first, kCipherHeader);
  }
  expect_identical(all, JavaClient::consume(stack().proxy_bootstrap(), topic, all.size()),
                   "Java consumer through the proxy");
  expect_identical(all, PythonClient::consume(stack().proxy_bootstrap(), topic, all.size()),
                   "librdkafka consumer through the proxy");
  // The values are on disk as sent: the proxy left these batches alone.
  auto values = values_of(all);
  auto scan = scan_segments(stack().kafka().log_dirs(), topic, values);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_TRUE(scan.found(i)) << "value " << i << " is not stored as sent";
  }
}

}  // namespace
}  // namespace kenc::testworld::e2e
