// Interop of the record batch library with librdkafka 2.0.2 through its in-process mock cluster
// (fast, no JVM; it stores produced batches byte for byte and serves them to Fetch):
//  - batches librdkafka writes with each codec (idempotent producer, headers, null values) are
//    fetched raw over the Kafka protocol and must decode to the records that were produced;
//  - batches this library writes (each codec, incl. xerial snappy) are produced raw and must be
//    read back by the librdkafka consumer with CRC checking on;
//  - a librdkafka batch rewritten through BatchRewriter must be accepted and read back.
// records_kafka_interop_test.cc does the same against a real Apache Kafka broker and the Java
// clients.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/kafka/records/batch_builder.h"
#include "common/kafka/records/batch_rewriter.h"
#include "common/kafka/records/record_batch.h"
#include "tests/integration/protocol/records_interop_support.h"

namespace kenc::kafka::records {
namespace {

using namespace interop;  // NOLINT(google-build-using-namespace): test support

// ---- the test fixture: one mock cluster for the binary ---------------------------------------

class LibrdkafkaInterop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ASSERT_NE(owner_, nullptr) << err;
    cluster_ = rd_kafka_mock_cluster_new(owner_, 1);
    ASSERT_NE(cluster_, nullptr) << "librdkafka could not start its mock cluster on 127.0.0.1";
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  static void TearDownTestSuite() {
    if (cluster_) {
      rd_kafka_mock_cluster_destroy(cluster_);
    }
    if (owner_) {
      rd_kafka_destroy(owner_);
    }
    cluster_ = nullptr;
    owner_ = nullptr;
  }
  static std::string new_topic(const std::string& name) {
    EXPECT_EQ(rd_kafka_mock_topic_create(cluster_, name.c_str(), 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    return name;
  }

  static inline rd_kafka_t* owner_ = nullptr;
  static inline rd_kafka_mock_cluster_t* cluster_ = nullptr;
  static inline std::string bootstrap_;
};

TEST_F(LibrdkafkaInterop, BatchesWrittenByLibrdkafkaDecodeWithEveryCodec) {
  const auto records = expected_records(60);
  for (const auto& [name, codec] : kCodecs) {
    SCOPED_TRACE(name);
    const std::string topic = new_topic(std::string("librdkafka-") + name);
    produce_with_librdkafka(bootstrap_, topic, name, records);
    KafkaConnection conn(bootstrap_);
    auto blob = fetch_records(conn, topic);
    ASSERT_FALSE(blob.empty());
    std::vector<Codec> codecs;
    std::vector<BatchHeader> headers;
    EXPECT_EQ(decode_all(blob, codecs, headers), records);
    EXPECT_FALSE(codecs.empty());
    for (Codec c : codecs) {
      EXPECT_EQ(c, codec);
    }
    for (const BatchHeader& h : headers) {
      EXPECT_GE(h.producer_id, 0) << "idempotent producer batches carry a producer id";
      EXPECT_GE(h.base_sequence, 0);
    }
  }
}

TEST_F(LibrdkafkaInterop, BatchesWeWriteAreAcceptedAndReadByLibrdkafka) {
  const auto records = expected_records(40);
  for (const auto& [name, codec] : kCodecs) {
    SCOPED_TRACE(name);
    const std::string topic = new_topic(std::string("ours-") + name);
    BatchHeader h;
    h.base_timestamp = 1700000000000;
    h.max_timestamp = h.base_timestamp + 39;
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
    ASSERT_TRUE(builder.finish(batch).ok());
    KafkaConnection conn(bootstrap_);
    ASSERT_EQ(produce_records(conn, topic, batch), 0);
    EXPECT_EQ(consume_with_librdkafka(bootstrap_, topic, records.size()), records);
  }
}

TEST_F(LibrdkafkaInterop, RewrittenLibrdkafkaBatchesRoundTrip) {
  class Prefix : public ValueTransform {
    Result<ValueAction> transform(const BatchHeader&, const RecordView& r,
                                  std::vector<uint8_t>& v) override {
      if (r.value.is_null()) {
        return ValueAction::kUnchanged;
      }
      v.assign({'E', ':'});
      v.insert(v.end(), r.value.bytes().begin(), r.value.bytes().end());
      return ValueAction::kReplaced;
    }
  } prefix;
  auto records = expected_records(30);
  for (const auto& [name, codec] : kCodecs) {
    SCOPED_TRACE(name);
    const std::string source = new_topic(std::string("source-") + name);
    const std::string target = new_topic(std::string("rewritten-") + name);
    produce_with_librdkafka(bootstrap_, source, name, records);
    KafkaConnection conn(bootstrap_);
    auto blob = fetch_records(conn, source);
    std::vector<RecordsEntry> entries;
    ASSERT_TRUE(parse_records(blob, entries).ok());
    std::vector<uint8_t> rewritten;
    for (const RecordsEntry& e : entries) {
      ASSERT_EQ(e.kind, EntryKind::kBatch);
      BatchHeader h = e.batch.header;
      ASSERT_TRUE(rewrite_batch_values(e.batch, prefix, rewritten).ok());
      // Produce each rewritten batch on its own, as a client would.
      auto view = parse_batch(rewritten);
      ASSERT_TRUE(view.ok());
      EXPECT_EQ(view->header.codec(), codec);
      EXPECT_EQ(view->header.producer_id, h.producer_id);
      EXPECT_EQ(view->header.base_sequence, h.base_sequence);
      ASSERT_EQ(produce_records(conn, target, rewritten), 0);
      rewritten.clear();
    }
    auto expected = records;
    for (Plain& p : expected) {
      if (p.value) {
        p.value = "E:" + *p.value;
      }
    }
    EXPECT_EQ(consume_with_librdkafka(bootstrap_, target, expected.size()), expected);
  }
}

}  // namespace
}  // namespace kenc::kafka::records
