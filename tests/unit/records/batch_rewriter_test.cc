#include "common/kafka/records/batch_rewriter.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "common/kafka/records/batch_builder.h"
#include "tests/unit/records/batch_test_util.h"

namespace kenc::kafka::records {
namespace {

using testing::PlainRecord;
using testing::to_plain;

// Prefixes non-null values with "enc:" (standing in for encryption), leaves null values alone,
// nulls the value of records whose key is "drop", and counts what it saw.
class PrefixTransform : public ValueTransform {
 public:
  Result<ValueAction> transform(const BatchHeader& batch, const RecordView& record,
                                std::vector<uint8_t>& new_value) override {
    ++calls;
    last_base_offset = batch.base_offset;
    offsets_seen.push_back(record.offset_delta);
    if (record.key.as_string() == "drop") {
      return ValueAction::kNull;
    }
    if (record.value.is_null()) {
      return ValueAction::kUnchanged;
    }
    const std::string prefix = "enc:";
    new_value.insert(new_value.end(), prefix.begin(), prefix.end());
    new_value.insert(new_value.end(), record.value.bytes().begin(), record.value.bytes().end());
    return ValueAction::kReplaced;
  }
  int calls = 0;
  int64_t last_base_offset = 0;
  std::vector<int32_t> offsets_seen;
};

class FailingTransform : public ValueTransform {
 public:
  Result<ValueAction> transform(const BatchHeader&, const RecordView& record,
                                std::vector<uint8_t>&) override {
    if (record.offset_delta == 2) {
      return make_error(ErrorCode::kUnavailable, "key broker down");
    }
    return ValueAction::kUnchanged;
  }
};

BatchHeader header_for(Codec codec) {
  BatchHeader h;
  h.base_offset = 500;
  h.partition_leader_epoch = 9;
  h.base_timestamp = 1700000000000;
  h.max_timestamp = 1700000000100;
  h.producer_id = 77;
  h.producer_epoch = 2;
  h.base_sequence = 1000;
  h.attributes = BatchHeader::kTransactionalBit | BatchHeader::kTimestampTypeBit;
  h.set_codec(codec);
  return h;
}

std::vector<uint8_t> sample_batch(Codec codec) {
  BatchBuilder b(header_for(codec));
  const HeaderInput headers[] = {{"content-type", NullableBytes::of("text")},
                                 {"empty", NullableBytes::null()}};
  b.add(0, 0, NullableBytes::of("k0"), NullableBytes::of("hello"), headers);
  b.add(10, 1, NullableBytes::null(), NullableBytes::null());
  b.add(20, 2, NullableBytes::of("drop"), NullableBytes::of("secret"));
  b.add(30, 5, NullableBytes::of("k5"), NullableBytes::of(std::string(3000, 'z')));  // gap 3..4
  std::vector<uint8_t> out;
  EXPECT_TRUE(b.finish(out).ok());
  return out;
}

std::vector<PlainRecord> records_of(const BatchView& batch) {
  BatchRewriter reader_buffers;
  std::span<const uint8_t> section;
  EXPECT_TRUE(reader_buffers.records_section(batch, section).ok());
  RecordReader reader(section, batch.header.record_count);
  std::vector<PlainRecord> out;
  RecordView r;
  while (reader.next(r)) {
    out.push_back(to_plain(r));
  }
  EXPECT_TRUE(reader.status().ok());
  return out;
}

class RewriteEveryCodec : public ::testing::TestWithParam<Codec> {};

TEST_P(RewriteEveryCodec, RewritesValuesAndPreservesEverythingElse) {
  auto original_bytes = sample_batch(GetParam());
  auto original = parse_batch(original_bytes);
  ASSERT_TRUE(original.ok());

  PrefixTransform transform;
  BatchRewriter rewriter;
  std::vector<uint8_t> out{0x01, 0x02};  // rewritten batch is appended
  ASSERT_TRUE(rewriter.rewrite_values(*original, transform, out).ok());
  EXPECT_EQ(transform.calls, 4);
  EXPECT_EQ(transform.last_base_offset, 500);
  EXPECT_EQ(transform.offsets_seen, (std::vector<int32_t>{0, 1, 2, 5}));

  auto rewritten = parse_batch(std::span(out).subspan(2));  // CRC verified here
  ASSERT_TRUE(rewritten.ok()) << rewritten.error().to_string();
  const BatchHeader& a = original->header;
  const BatchHeader& b = rewritten->header;
  EXPECT_EQ(b.codec(), GetParam());
  EXPECT_EQ(b.attributes, a.attributes);
  EXPECT_TRUE(b.is_transactional());
  EXPECT_EQ(b.timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_EQ(b.base_offset, a.base_offset);
  EXPECT_EQ(b.partition_leader_epoch, a.partition_leader_epoch);
  EXPECT_EQ(b.last_offset_delta, 5);
  EXPECT_EQ(b.base_timestamp, a.base_timestamp);
  EXPECT_EQ(b.max_timestamp, a.max_timestamp);
  EXPECT_EQ(b.producer_id, a.producer_id);
  EXPECT_EQ(b.producer_epoch, a.producer_epoch);
  EXPECT_EQ(b.base_sequence, a.base_sequence);
  EXPECT_EQ(b.record_count, 4);

  auto before = records_of(*original);
  auto after = records_of(*rewritten);
  ASSERT_EQ(after.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(after[i].key, before[i].key);
    EXPECT_EQ(after[i].headers, before[i].headers);
    EXPECT_EQ(after[i].timestamp_delta, before[i].timestamp_delta);
    EXPECT_EQ(after[i].offset_delta, before[i].offset_delta);
  }
  EXPECT_EQ(after[0].value, "enc:hello");
  EXPECT_EQ(after[1].value, std::nullopt);
  EXPECT_EQ(after[2].value, std::nullopt);
  EXPECT_EQ(after[3].value, "enc:" + std::string(3000, 'z'));

  // The same rewriter, reused, gives byte-identical output.
  std::vector<uint8_t> again;
  ASSERT_TRUE(rewriter.rewrite_values(*original, transform, again).ok());
  EXPECT_EQ(again, std::vector<uint8_t>(out.begin() + 2, out.end()));
}

TEST_P(RewriteEveryCodec, UnchangedTransformRebuildsAnEquivalentBatch) {
  class Identity : public ValueTransform {
    Result<ValueAction> transform(const BatchHeader&, const RecordView&,
                                  std::vector<uint8_t>&) override {
      return ValueAction::kUnchanged;
    }
  } identity;
  auto bytes = sample_batch(GetParam());
  auto batch = parse_batch(bytes);
  ASSERT_TRUE(batch.ok());
  std::vector<uint8_t> out;
  ASSERT_TRUE(rewrite_batch_values(*batch, identity, out).ok());
  // Our compressors are deterministic, so an identity rewrite reproduces our own batch exactly.
  EXPECT_EQ(out, bytes);
}

TEST_P(RewriteEveryCodec, TransformErrorAbortsAndAppendsNothing) {
  auto bytes = sample_batch(GetParam());
  auto batch = parse_batch(bytes);
  ASSERT_TRUE(batch.ok());
  FailingTransform failing;  // fails at the third record, after two were written
  const std::vector<uint8_t> before = {7, 7, 7};  // what the caller had already built
  std::vector<uint8_t> out = before;
  auto s = rewrite_batch_values(*batch, failing, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(out, before);
}

// PrefixTransform's rewrite through plan_value()/write_value(): sizes first, bytes written in
// place. Fails in write_value() at the record with offset delta `fail_at` when set.
class InPlacePrefixTransform : public ValueTransform {
 public:
  Result<ValueAction> transform(const BatchHeader&, const RecordView&,
                                std::vector<uint8_t>&) override {
    ADD_FAILURE() << "the rewriter must use plan_value() when values_in_place() is true";
    return make_error(ErrorCode::kInternal, "transform() called");
  }
  bool values_in_place() const override { return true; }
  Result<ValueAction> plan_value(const BatchHeader&, const RecordView& record,
                                 size_t& value_size) override {
    ++plans;
    if (record.key.as_string() == "drop") {
      return ValueAction::kNull;
    }
    if (record.value.is_null()) {
      return ValueAction::kUnchanged;
    }
    planned_ = record.value.bytes();
    planned_offset_delta_ = record.offset_delta;
    value_size = 4 + planned_.size();
    return ValueAction::kReplaced;
  }
  Status write_value(std::span<uint8_t> out) override {
    if (planned_offset_delta_ == fail_at) {
      return make_error(ErrorCode::kDataLoss, "tag mismatch");
    }
    EXPECT_EQ(out.size(), 4 + planned_.size());
    std::memcpy(out.data(), "enc:", 4);
    std::memcpy(out.data() + 4, planned_.data(), planned_.size());
    return Status::Ok();
  }
  int plans = 0;
  int32_t fail_at = -1;

 private:
  std::span<const uint8_t> planned_;
  int32_t planned_offset_delta_ = -1;
};

TEST_P(RewriteEveryCodec, ValuesWrittenInPlaceGiveTheSameBatch) {
  auto bytes = sample_batch(GetParam());
  auto batch = parse_batch(bytes);
  ASSERT_TRUE(batch.ok());
  PrefixTransform through_a_buffer;
  std::vector<uint8_t> expected;
  ASSERT_TRUE(BatchRewriter().rewrite_values(*batch, through_a_buffer, expected).ok());

  InPlacePrefixTransform in_place;
  BatchRewriter rewriter;
  std::vector<uint8_t> out{0x09};  // appended to
  ASSERT_TRUE(rewriter.rewrite_values(*batch, in_place, out).ok());
  EXPECT_EQ(in_place.plans, 4);
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 1, out.end()), expected);
  auto rewritten = parse_batch(std::span(out).subspan(1));  // CRC verified here
  ASSERT_TRUE(rewritten.ok()) << rewritten.error().to_string();
  auto after = records_of(*rewritten);
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(after[0].value, "enc:hello");
  EXPECT_EQ(after[2].value, std::nullopt);
  EXPECT_EQ(after[3].value, "enc:" + std::string(3000, 'z'));
}

TEST_P(RewriteEveryCodec, InPlaceWriteErrorAbortsAndAppendsNothing) {
  auto bytes = sample_batch(GetParam());
  auto batch = parse_batch(bytes);
  ASSERT_TRUE(batch.ok());
  InPlacePrefixTransform failing;
  failing.fail_at = 5;  // the last record, after three were written
  const std::vector<uint8_t> before = {7, 7, 7};
  std::vector<uint8_t> out = before;
  auto s = BatchRewriter().rewrite_values(*batch, failing, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(out, before);
}

TEST(Rewrite, TransformDefaultsToTheTwoSteps) {
  // Only the two-step form: transform() still works, through a buffer.
  class UpperCase : public ValueTransform {
   public:
    bool values_in_place() const override { return true; }
    Result<ValueAction> plan_value(const BatchHeader&, const RecordView& record,
                                   size_t& value_size) override {
      if (record.value.is_null()) {
        return ValueAction::kUnchanged;
      }
      value_ = record.value.bytes();
      value_size = value_.size();
      return ValueAction::kReplaced;
    }
    Status write_value(std::span<uint8_t> out) override {
      for (size_t i = 0; i < value_.size(); ++i) {
        out[i] = static_cast<uint8_t>(std::toupper(value_[i]));
      }
      return Status::Ok();
    }

   private:
    std::span<const uint8_t> value_;
  } upper;
  auto bytes = sample_batch(Codec::kNone);
  auto batch = parse_batch(bytes);
  ASSERT_TRUE(batch.ok());
  RecordReader reader(batch->payload, batch->header.record_count);
  RecordView record;
  ASSERT_TRUE(reader.next(record));  // "hello"
  std::vector<uint8_t> new_value;
  auto action = upper.transform(batch->header, record, new_value);
  ASSERT_TRUE(action.ok());
  EXPECT_EQ(*action, ValueAction::kReplaced);
  EXPECT_EQ(std::string(new_value.begin(), new_value.end()), "HELLO");
  ASSERT_TRUE(reader.next(record));  // null value
  new_value.clear();
  action = upper.transform(batch->header, record, new_value);
  ASSERT_TRUE(action.ok());
  EXPECT_EQ(*action, ValueAction::kUnchanged);
  EXPECT_TRUE(new_value.empty());
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, RewriteEveryCodec,
                         ::testing::Values(Codec::kNone, Codec::kGzip, Codec::kSnappy, Codec::kLz4,
                                           Codec::kZstd),
                         [](const auto& param_info) {
                           return std::string(codec_name(param_info.param));
                         });

TEST(Rewrite, DecompressionBombIsRejected) {
  BatchBuilder b(header_for(Codec::kZstd));
  b.add(0, 0, NullableBytes::null(), NullableBytes::of(std::string(1 << 20, 'a')));
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(b.finish(bytes).ok());
  EXPECT_LT(bytes.size(), 1000u);
  auto batch = parse_batch(bytes);
  ASSERT_TRUE(batch.ok());
  RewriteOptions options;
  options.max_decompressed_bytes = size_t{64} * 1024;
  BatchRewriter rewriter(options);
  PrefixTransform transform;
  std::vector<uint8_t> out;
  auto s = rewriter.rewrite_values(*batch, transform, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kOutOfRange);
  EXPECT_EQ(transform.calls, 0);
}

}  // namespace
}  // namespace kenc::kafka::records
