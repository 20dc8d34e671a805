// Every compression codec, from the Java client and from librdkafka: the proxy decompresses each
// batch once, encrypts, and re-applies the batch's codec; consumers through the proxy get the
// records back exactly.
#include <gtest/gtest.h>

#include "tests/integration/encryption/encryption_support.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/python_client.h"
#include "tests/world/kafka/segment_batches.h"

namespace kenc::testworld::e2e {
namespace {

struct Codec {
  std::string name;
  int id;  // the batch attribute bits
};

// For gtest's messages: the codec's name instead of the struct's bytes.
void PrintTo(const Codec& codec, std::ostream* os) { *os << codec.name; }

class EveryCodec : public EndToEndTest, public ::testing::WithParamInterface<Codec> {};

TEST_P(EveryCodec, RecordsRoundTripAndAreStoredEncryptedWithTheSameCodec) {
  const Codec codec = GetParam();
  const std::string topic = unique_topic("enc-" + codec.name);
  create_topic(topic, 2);
  // Enough records per batch (linger) for compression to matter.
  auto java = JavaClient::produce(
      stack().proxy_bootstrap(), topic, rich_records(200, "j" + codec.name, 2),
      {{"compression.type", codec.name}, {"linger.ms", "50"}, {"batch.size", "65536"}});
  auto rdk = PythonClient::produce(stack().proxy_bootstrap(), topic,
                                   rich_records(200, "r" + codec.name, 2),
                                   {{"compression.codec", codec.name}, {"linger.ms", "50"}});
  auto sent = java;
  sent.insert(sent.end(), rdk.begin(), rdk.end());

  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(), topic, sent.size()),
                   "Java consumer through the proxy, " + codec.name);
  expect_identical(sent, PythonClient::consume(stack().proxy_bootstrap(), topic, sent.size()),
                   "librdkafka consumer through the proxy, " + codec.name);
  expect_cipher_records(sent, JavaClient::consume(stack().direct_bootstrap(), topic, sent.size()),
                        "Java consumer reading the broker directly, " + codec.name);
  expect_no_plaintext_on_disk(topic, values_of(sent));

  // The broker stored the batches with the producer's codec (the topic's compression.type is
  // `producer`), so the proxy re-applied it.
  auto batches = read_stored_batches(stack().kafka().log_dirs(), topic);
  ASSERT_FALSE(batches.empty());
  int32_t records = 0;
  for (const auto& b : batches) {
    EXPECT_EQ(b.magic, 2);
    // Per partition, the Java client's 100 records come first, then librdkafka's.
    EXPECT_EQ(b.codec(), codec.id)
        << "batch at offset " << b.base_offset << " of partition " << b.partition << " ("
        << b.record_count << " records, written by "
        << (b.base_offset < 100 ? "the Java client" : "librdkafka") << ")";
    records += b.record_count;
  }
  EXPECT_EQ(records, static_cast<int32_t>(sent.size()));
  // Batching happened, so the codec applied to several records at once.
  EXPECT_LT(batches.size(), sent.size() / 4);
}

INSTANTIATE_TEST_SUITE_P(Codecs, EveryCodec,
                         ::testing::Values(Codec{"none", 0}, Codec{"gzip", 1}, Codec{"snappy", 2},
                                           Codec{"lz4", 3}, Codec{"zstd", 4}),
                         [](const ::testing::TestParamInfo<Codec>& p) { return p.param.name; });

}  // namespace
}  // namespace kenc::testworld::e2e
