// Interop of the record batch library with a real Apache Kafka 4.1 broker (the test world) and the
// real clients:
//  - batches the Java producer and librdkafka write with each codec (Java: xerial snappy, lz4
//    frames, idempotent batches) are fetched raw and decode to the records produced;
//  - batches this library writes with each codec are accepted by the broker (which checks the
//    CRC, decompresses and validates every record) and read back by the Java consumer and by
//    librdkafka;
//  - Java batches rewritten through BatchRewriter are accepted and read back;
//  - a fetch cut by partition_max_bytes ends with a truncated batch, recognised as such.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/kafka/records/batch_builder.h"
#include "common/kafka/records/batch_rewriter.h"
#include "common/kafka/records/record_batch.h"
#include "tests/integration/protocol/records_interop_support.h"
#include "tests/world/kafka/java_client.h"
#include "tests/world/kafka/kafka_environment.h"

namespace kenc::kafka::records {
namespace {

using namespace interop;  // NOLINT(google-build-using-namespace): test support
using testworld::JavaClient;
using testworld::KafkaEnvironment;
using testworld::TestRecord;
using testworld::unique_topic;

std::string bootstrap() { return KafkaEnvironment::cluster().bootstrap_servers(); }

std::string new_topic(const std::string& prefix) {
  std::string topic = unique_topic(prefix);
  KafkaEnvironment::cluster().create_topic(topic, 1, 1);
  return topic;
}

std::vector<TestRecord> to_test_records(const std::vector<Plain>& plain) {
  std::vector<TestRecord> out;
  for (const Plain& p : plain) {
    TestRecord r;
    r.key = p.key;
    r.value = p.value;
    r.headers = p.headers;
    r.partition = 0;
    out.push_back(r);
  }
  return out;
}

std::vector<Plain> to_plain(const std::vector<TestRecord>& records) {
  std::vector<Plain> out;
  for (const TestRecord& r : records) {
    out.push_back(Plain{r.key, r.value, r.headers});
  }
  return out;
}

std::vector<uint8_t> build_batch(Codec codec, const std::vector<Plain>& records) {
  BatchHeader h;
  h.base_timestamp = 1700000000000;
  h.max_timestamp = h.base_timestamp + static_cast<int64_t>(records.size()) - 1;
  h.set_codec(codec);
  BatchBuilder builder(h);
  for (size_t i = 0; i < records.size(); ++i) {
    std::vector<HeaderInput> hs;
    for (const auto& [k, v] : records[i].headers) {
      hs.push_back({k, v ? NullableBytes::of(*v) : NullableBytes::null()});
    }
    builder.add(static_cast<int64_t>(i), static_cast<int32_t>(i),
                records[i].key ? NullableBytes::of(*records[i].key) : NullableBytes::null(),
                records[i].value ? NullableBytes::of(*records[i].value) : NullableBytes::null(),
                hs);
  }
  std::vector<uint8_t> batch;
  EXPECT_TRUE(builder.finish(batch).ok());
  return batch;
}

TEST(KafkaRecordsInterop, JavaProducerBatchesDecodeWithEveryCodec) {
  const auto records = expected_records(50);
  for (const auto& [name, codec] : kCodecs) {
    SCOPED_TRACE(name);
    const std::string topic = new_topic(std::string("java-") + name);
    JavaClient::produce(bootstrap(), topic, to_test_records(records),
                        {{"compression.type", name}, {"linger.ms", "100"}});
    KafkaConnection conn(bootstrap());
    auto blob = fetch_records(conn, topic);
    std::vector<Codec> codecs;
    std::vector<BatchHeader> headers;
    EXPECT_EQ(decode_all(blob, codecs, headers), records);
    ASSERT_FALSE(codecs.empty());
    for (Codec c : codecs) {
      EXPECT_EQ(c, codec);
    }
    for (const BatchHeader& h : headers) {
      EXPECT_GE(h.producer_id, 0) << "Java producers are idempotent by default";
      EXPECT_EQ(h.timestamp_type(), TimestampType::kCreateTime);
    }
  }
}

TEST(KafkaRecordsInterop, LibrdkafkaBatchesDecodeWithEveryCodec) {
  const auto records = expected_records(50);
  for (const auto& [name, codec] : kCodecs) {
    SCOPED_TRACE(name);
    const std::string topic = new_topic(std::string("rdkafka-") + name);
    produce_with_librdkafka(bootstrap(), topic, name, records);
    KafkaConnection conn(bootstrap());
    auto blob = fetch_records(conn, topic);
    std::vector<Codec> codecs;
    std::vector<BatchHeader> headers;
    EXPECT_EQ(decode_all(blob, codecs, headers), records);
    ASSERT_FALSE(codecs.empty());
    for (Codec c : codecs) {
      EXPECT_EQ(c, codec);
    }
  }
}

TEST(KafkaRecordsInterop, OurBatchesAreAcceptedAndReadByJavaAndLibrdkafka) {
  const auto records = expected_records(40);
  for (const auto& [name, codec] : kCodecs) {
    SCOPED_TRACE(name);
    const std::string topic = new_topic(std::string("ours-") + name);
    KafkaConnection conn(bootstrap());
    ASSERT_EQ(produce_records(conn, topic, build_batch(codec, records)), 0);
    // The broker stores the batch as we wrote it (same codec): what it serves decodes the same.
    std::vector<Codec> codecs;
    std::vector<BatchHeader> headers;
    EXPECT_EQ(decode_all(fetch_records(conn, topic), codecs, headers), records);
    ASSERT_EQ(codecs.size(), 1u);
    EXPECT_EQ(codecs[0], codec);
    EXPECT_EQ(
        to_plain(JavaClient::consume(bootstrap(), topic, records.size(), {{"check.crcs", "true"}})),
        records);
    EXPECT_EQ(consume_with_librdkafka(bootstrap(), topic, records.size()), records);
  }
}

TEST(KafkaRecordsInterop, RewrittenJavaBatchesAreAcceptedAndReadBack) {
  class Prefix : public ValueTransform {
    Result<ValueAction> transform(const BatchHeader& /*batch*/, const RecordView& r,
                                  std::vector<uint8_t>& v) override {
      if (r.value.is_null()) {
        return ValueAction::kUnchanged;
      }
      v.assign({'E', ':'});
      v.insert(v.end(), r.value.bytes().begin(), r.value.bytes().end());
      return ValueAction::kReplaced;
    }
  } prefix;
  const auto records = expected_records(30);
  for (const auto& [name, codec] : kCodecs) {
    SCOPED_TRACE(name);
    const std::string source = new_topic(std::string("src-") + name);
    const std::string target = new_topic(std::string("enc-") + name);
    // Not idempotent: the rewritten batches go to another partition, where the producer id of
    // the source would have no state.
    JavaClient::produce(bootstrap(), source, to_test_records(records),
                        {{"compression.type", name},
                         {"enable.idempotence", "false"},
                         {"acks", "all"},
                         {"linger.ms", "100"}});
    KafkaConnection conn(bootstrap());
    auto blob = fetch_records(conn, source);
    std::vector<RecordsEntry> entries;
    ASSERT_TRUE(parse_records(blob, entries).ok());
    for (const RecordsEntry& e : entries) {
      ASSERT_EQ(e.kind, EntryKind::kBatch);
      std::vector<uint8_t> rewritten;
      ASSERT_TRUE(rewrite_batch_values(e.batch, prefix, rewritten).ok());
      auto view = parse_batch(rewritten);
      ASSERT_TRUE(view.ok());
      EXPECT_EQ(view->header.codec(), codec);
      ASSERT_EQ(produce_records(conn, target, rewritten), 0);
    }
    auto expected = records;
    for (Plain& p : expected) {
      if (p.value) {
        p.value = "E:" + *p.value;
      }
    }
    EXPECT_EQ(to_plain(JavaClient::consume(bootstrap(), target, expected.size())), expected);
  }
}

TEST(KafkaRecordsInterop, FetchCutByTheByteLimitEndsWithATruncatedBatch) {
  const std::string topic = new_topic("truncated");
  KafkaConnection conn(bootstrap());
  const auto records = expected_records(20);
  auto first = build_batch(Codec::kNone, records);
  auto second = build_batch(Codec::kLz4, records);
  ASSERT_EQ(produce_records(conn, topic, first), 0);
  ASSERT_EQ(produce_records(conn, topic, second), 0);
  const auto limit = static_cast<int32_t>(first.size() + 40);
  auto blob = fetch_records(conn, topic, limit);
  ASSERT_EQ(blob.size(), static_cast<size_t>(limit)) << "the broker cuts at the byte limit";
  std::vector<RecordsEntry> entries;
  ASSERT_TRUE(parse_records(blob, entries).ok());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].kind, EntryKind::kBatch);
  EXPECT_EQ(entries[0].batch.header.base_offset, 0);
  EXPECT_EQ(entries[1].kind, EntryKind::kTruncated);
  EXPECT_EQ(entries[1].bytes.size(), 40u);
}

}  // namespace
}  // namespace kenc::kafka::records

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::KafkaEnvironment());
  return RUN_ALL_TESTS();
}
