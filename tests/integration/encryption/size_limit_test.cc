// Records near the broker's maximum message size. Encryption adds about 100 bytes per record
// (docs/cipher-record-format.md), so a batch that fits the limit in plaintext can exceed it once
// encrypted. What happens then (docs/record-encryption.md, "Record size"): the broker refuses
// the batch with MESSAGE_TOO_LARGE and stores nothing; a producer with a single-record batch
// gets a clear, non-retriable error; the Java producer splits a multi-record batch and sends the
// halves again, which then fit. Never is anything stored in plaintext.
#include <gtest/gtest.h>

#include "tests/integration/encryption/encryption_support.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/python_client.h"
#include "tests/world/kafka/segment_batches.h"

namespace kenc::testworld::e2e {
namespace {

using namespace std::chrono_literals;

// The topic-level limit (max.message.bytes): a whole batch, log overhead included, must fit.
constexpr int kLimit = 100'000;
// Batch bytes around one record with a 10-byte key, no headers, uncompressed, value of a
// 3-byte varint length: 61 (batch header) + 21 (record framing + key) = 82 + value.
constexpr int kOneRecordBatchOverhead = 82;

// A record with a 10-byte key and a value of `value_size` bytes, no headers.
TestRecord sized_record(const std::string& tag, size_t value_size) {
  TestRecord r;
  r.key = tag.substr(0, 10);
  r.key->resize(10, '_');
  std::string value = tag + "-secret-big-value-";
  while (value.size() < value_size) value += static_cast<char>('A' + value.size() % 23);
  value.resize(value_size);
  r.value = value;
  return r;
}

// A record whose batch alone takes `batch_bytes` bytes uncompressed.
TestRecord big_record(const std::string& tag, int batch_bytes) {
  return sized_record(tag, static_cast<size_t>(batch_bytes - kOneRecordBatchOverhead));
}

std::map<std::string, std::string> limited() {
  return {{"max.message.bytes", std::to_string(kLimit)}};
}

class SizeLimit : public EndToEndTest {};

TEST_F(SizeLimit, ARecordThatStillFitsOnceEncryptedRoundTrips) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 1, limited());
  // 300 bytes of room: more than encryption adds.
  auto sent = JavaClient::produce(stack().proxy_bootstrap(), topic,
                                  {big_record("fitsjava01", kLimit - 300)}, {{"acks", "all"}});
  auto rdk = PythonClient::produce(stack().proxy_bootstrap(), topic,
                                   {big_record("fitsrdk001", kLimit - 300)});
  sent.insert(sent.end(), rdk.begin(), rdk.end());
  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(), topic, sent.size()),
                   "Java consumer through the proxy");
  expect_cipher_records(sent, JavaClient::consume(stack().direct_bootstrap(), topic, sent.size()),
                        "Java consumer reading the broker directly");
  expect_no_plaintext_on_disk(topic, values_of(sent));
  for (const auto& b : read_stored_batches(stack().kafka().log_dirs(), topic)) {
    EXPECT_LE(12 + b.length, kLimit);
    EXPECT_GT(12 + b.length, kLimit - 300) << "the stored batch grew by encryption";
  }
}

TEST_F(SizeLimit, ASingleRecordPushedOverTheLimitByEncryptionFailsAndNothingIsStored) {
  // The same record fits a plaintext topic with the same limit: the batch is under the limit
  // as the producer sent it, so it is encryption that pushes it over.
  const auto record = big_record("overjava01", kLimit - 20);
  const std::string plain = unique_topic("plain");
  create_topic(plain, 1, limited());
  auto plain_sent = JavaClient::produce(stack().proxy_bootstrap(), plain, {record});
  ASSERT_EQ(plain_sent.size(), 1u);
  for (const auto& b : read_stored_batches(stack().kafka().log_dirs(), plain)) {
    EXPECT_GT(12 + b.length, kLimit - 40);
    EXPECT_LE(12 + b.length, kLimit);
  }

  const std::string topic = unique_topic("enc");
  create_topic(topic, 1, limited());
  const std::string java_error = client_error([&] {
    JavaClient::produce(stack().proxy_bootstrap(), topic, {record}, {{"acks", "all"}});
  });
  // RecordTooLargeException (MESSAGE_TOO_LARGE) or RecordBatchTooLargeException
  // (RECORD_LIST_TOO_LARGE): either says the batch is too large, and neither is retried.
  EXPECT_NE(java_error.find("TooLargeException"), std::string::npos) << java_error;
  const std::string rdk_error = client_error([&] {
    PythonClient::produce(stack().proxy_bootstrap(), topic,
                          {big_record("overrdk001", kLimit - 20)});
  });
  EXPECT_NE(rdk_error.find("_TOO_LARGE"), std::string::npos) << rdk_error;

  EXPECT_EQ(stored_bytes(topic), 0u) << "the refused batch was stored";
  EXPECT_TRUE(JavaClient::consume(stack().direct_bootstrap(), topic, 1, {}, "", 5s).empty());
  EXPECT_GE(proxy_metric(0, "kenc_proxy_encryption_records_total", {"operation=\"encrypt\""}), 2);
}

TEST_F(SizeLimit, AMultiRecordBatchPushedOverTheLimitFailsTheProducerAndNothingIsStored) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 1, limited());
  // Two records sent as one batch (linger, batch.size just under the limit, as a user who
  // sized batch.size to the broker's limit would): the batch fits in plaintext, not once both
  // records grew by encryption. 61 bytes of batch header, about 22 of framing per record, 30
  // bytes to spare.
  const size_t half = (kLimit - 61 - 2 * 22 - 30) / 2;
  std::vector<TestRecord> records{sized_record("splitrec01", half),
                                  sized_record("splitrec02", half)};
  const double produces_before = proxy_metric(0, "kenc_proxy_requests_total", {"api_key=\"0\""});
  // The producer must give up by itself within its delivery timeout (20 s); the 60 s cap only
  // keeps a producer that never gives up from holding the suite for the default 3 minutes.
  const std::string error = client_error([&] {
    JavaClient::produce(stack().proxy_bootstrap(), topic, records,
                        {{"acks", "all"},
                         {"linger.ms", "500"},
                         {"batch.size", std::to_string(kLimit - 20)},
                         {"request.timeout.ms", "5000"},
                         {"delivery.timeout.ms", "20000"}},
                        "", false, 60s);
  });
  const double produces =
      proxy_metric(0, "kenc_proxy_requests_total", {"api_key=\"0\""}) - produces_before;
  EXPECT_EQ(error.find("[killed after timeout]"), std::string::npos)
      << "the producer was still sending after 60 s (" << produces
      << " Produce requests through the proxy): it splits the refused batch into the same "
         "batch again (its batch.size) and retries without end";
  EXPECT_NE(error.find("TooLargeException"), std::string::npos) << error.substr(0, 2000);
  EXPECT_EQ(stored_bytes(topic), 0u) << "a refused batch was stored";
}

}  // namespace
}  // namespace kenc::testworld::e2e
