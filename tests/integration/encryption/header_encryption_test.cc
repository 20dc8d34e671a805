// With `encrypt_headers: true` (cipher record format version 2) the real Java and librdkafka
// clients get their headers back through the proxy exactly as sent, while the broker stores
// only the `kenc` header on each encrypted record and none of the header values on disk.
// Records without headers are written as version 1; tombstones keep their headers in the clear.
// Its own stack (one Kafka broker, the key broker with the local KMS, one proxy), because the
// option is per proxy.
#include <gtest/gtest.h>

#include "tests/integration/encryption/encryption_support.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/python_client.h"

namespace kenc::testworld::e2e {
namespace {

class HeaderEncryption : public EndToEndTest {};

// What a client reading the broker directly must see for each record `sent` through the proxy.
void expect_headers_hidden(std::vector<TestRecord> sent, std::vector<TestRecord> direct) {
  sent = by_partition_and_offset(std::move(sent));
  direct = by_partition_and_offset(std::move(direct));
  ASSERT_EQ(direct.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    const TestRecord& s = sent[i];
    const TestRecord& d = direct[i];
    SCOPED_TRACE("record " + std::to_string(i) + ", key " + s.key.value_or("(null)"));
    if (!s.value) {
      EXPECT_EQ(d.headers, s.headers) << "a tombstone is never encrypted, its headers neither";
      continue;
    }
    const char version = s.headers.empty() ? '\x01' : '\x02';
    ASSERT_EQ(d.headers.size(), 1u) << "only the `kenc` header is stored";
    EXPECT_EQ(d.headers[0].first, kCipherHeader);
    EXPECT_EQ(d.headers[0].second, std::optional<std::string>(std::string(1, version)));
    ASSERT_TRUE(d.value.has_value());
    for (const auto& [key, value] : s.headers) {
      if (value && value->size() > 3) {
        EXPECT_EQ(d.value->find(*value), std::string::npos) << "header " << key << " in clear";
      }
    }
  }
}

std::vector<std::string> header_values_of(const std::vector<TestRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    for (const auto& [key, value] : r.headers) {
      if (value && value->size() > 3) out.push_back(*value);
    }
  }
  return out;
}

TEST_F(HeaderEncryption, JavaAndLibrdkafkaClientsGetHeadersBackAndTheBrokerStoresNone) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 2);
  auto records = rich_records(40, "hdr", 2);
  records[5].headers.clear();  // written as version 1
  records[9].value.reset();    // a tombstone with headers
  auto sent = JavaClient::produce(stack().proxy_bootstrap(), topic, records, {{"acks", "all"}});
  auto from_rdkafka =
      PythonClient::produce(stack().proxy_bootstrap(), topic, rich_records(20, "rdk-hdr", 2));
  sent.insert(sent.end(), from_rdkafka.begin(), from_rdkafka.end());

  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(), topic, sent.size()),
                   "Java consumer through the proxy");
  expect_identical(sent, PythonClient::consume(stack().proxy_bootstrap(), topic, sent.size()),
                   "librdkafka consumer through the proxy");
  expect_headers_hidden(sent, JavaClient::consume(stack().direct_bootstrap(), topic, sent.size()));

  std::vector<std::string> secrets = values_of(sent);
  for (const auto& h : header_values_of(sent)) {
    // The tombstone's headers are stored in the clear by design.
    if (h.find("hdr-trace-9") == std::string::npos) secrets.push_back(h);
  }
  expect_no_plaintext_on_disk(topic, secrets);
}

}  // namespace
}  // namespace kenc::testworld::e2e

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  kenc::testworld::EncryptionStack::Options options;
  options.label = "e2e-headers";
  options.encrypt_headers = true;
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::e2e::StackEnvironment(options));
  return RUN_ALL_TESTS();
}
