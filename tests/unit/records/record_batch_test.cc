#include "common/kafka/records/record_batch.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/kafka/records/batch_builder.h"
#include "common/kafka/records/batch_rewriter.h"
#include "common/kafka/records/crc32c.h"
#include "tests/unit/records/batch_test_util.h"

namespace kenc::kafka::records {
namespace {

using testing::PlainRecord;
using testing::to_nullable;
using testing::to_plain;

const Codec kAllCodecs[] = {Codec::kNone, Codec::kGzip, Codec::kSnappy, Codec::kLz4, Codec::kZstd};

BatchHeader sample_header(Codec codec) {
  BatchHeader h;
  h.base_offset = 1234567890123;
  h.partition_leader_epoch = 17;
  h.base_timestamp = 1700000000000;
  h.max_timestamp = 1700000000042;
  h.producer_id = 987654321;
  h.producer_epoch = 3;
  h.base_sequence = 4242;
  h.set_codec(codec);
  return h;
}

std::vector<PlainRecord> sample_records() {
  return {
      {0, 0, "key-0", "value-0", {}},
      {5, 1, std::nullopt, "value with null key", {{"h1", "v1"}}},
      {42, 2, "key-2", std::nullopt, {{"trace", std::nullopt}, {"kenc", "x"}}},
      {-3, 3, "", "", {}},  // empty (not null) key and value
  };
}

std::vector<uint8_t> build(const BatchHeader& h, const std::vector<PlainRecord>& records) {
  BatchBuilder builder(h);
  for (const PlainRecord& r : records) {
    std::vector<HeaderInput> headers;
    for (const auto& [k, v] : r.headers) {
      headers.push_back({k, to_nullable(v)});
    }
    builder.add(r.timestamp_delta, r.offset_delta, to_nullable(r.key), to_nullable(r.value),
                headers);
  }
  std::vector<uint8_t> out;
  EXPECT_TRUE(builder.finish(out).ok());
  return out;
}

std::vector<PlainRecord> read_all(const BatchView& batch) {
  BatchRewriter rewriter;
  std::span<const uint8_t> section;
  auto s = rewriter.records_section(batch, section);
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  std::vector<PlainRecord> out;
  RecordReader reader(section, batch.header.record_count);
  RecordView r;
  while (reader.next(r)) {
    out.push_back(to_plain(r));
  }
  EXPECT_TRUE(reader.status().ok()) << reader.status().error().to_string();
  return out;
}

void expect_same_header(const BatchHeader& a, const BatchHeader& b) {
  EXPECT_EQ(a.base_offset, b.base_offset);
  EXPECT_EQ(a.partition_leader_epoch, b.partition_leader_epoch);
  EXPECT_EQ(a.attributes, b.attributes);
  EXPECT_EQ(a.last_offset_delta, b.last_offset_delta);
  EXPECT_EQ(a.base_timestamp, b.base_timestamp);
  EXPECT_EQ(a.max_timestamp, b.max_timestamp);
  EXPECT_EQ(a.producer_id, b.producer_id);
  EXPECT_EQ(a.producer_epoch, b.producer_epoch);
  EXPECT_EQ(a.base_sequence, b.base_sequence);
  EXPECT_EQ(a.record_count, b.record_count);
}

TEST(RecordBatch, WritesTheExactHeaderLayout) {
  BatchHeader h = sample_header(Codec::kNone);
  auto bytes = build(h, {{0, 0, "k", "v", {}}});
  // base offset, then length = total - 12, epoch, magic 2, CRC over attributes..end.
  ASSERT_EQ(bytes.size(), 61u + 9u);  // one record: len,attr,ts,off,klen,k,vlen,v,hcount
  EXPECT_EQ(bytes[8], 0);
  EXPECT_EQ(bytes[11], bytes.size() - 12);
  EXPECT_EQ(bytes[15], 17);
  EXPECT_EQ(bytes[16], 2);
  uint32_t crc = (uint32_t{bytes[17]} << 24) | (uint32_t{bytes[18]} << 16) |
                 (uint32_t{bytes[19]} << 8) | bytes[20];
  EXPECT_EQ(crc, crc32c(std::span(bytes).subspan(21)));
  EXPECT_EQ(bytes[60], 1);  // record count
  // The record: length 8 (zigzag 16), attributes 0, ts 0, offset 0, key len 1 (zigzag 2) 'k', ...
  const std::vector<uint8_t> record = {16, 0, 0, 0, 2, 'k', 2, 'v', 0};
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 61, bytes.end()), record);
}

TEST(RecordBatch, RoundTripsEveryFieldWithEveryCodec) {
  for (Codec codec : kAllCodecs) {
    SCOPED_TRACE(codec_name(codec));
    BatchHeader h = sample_header(codec);
    auto bytes = build(h, sample_records());
    auto batch = parse_batch(bytes);
    ASSERT_TRUE(batch.ok()) << batch.error().to_string();
    EXPECT_EQ(batch->header.codec(), codec);
    EXPECT_EQ(batch->bytes.size(), bytes.size());
    EXPECT_EQ(batch->header.batch_length, static_cast<int32_t>(bytes.size() - 12));
    h.record_count = 4;
    h.last_offset_delta = 3;
    expect_same_header(batch->header, h);
    EXPECT_EQ(read_all(*batch), sample_records());
  }
}

TEST(RecordBatch, FlagsAreDecodedAndPreserved) {
  BatchHeader h = sample_header(Codec::kZstd);
  h.attributes |= BatchHeader::kTransactionalBit | BatchHeader::kTimestampTypeBit;
  auto bytes = build(h, sample_records());
  auto batch = parse_batch(bytes);
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(batch->header.is_transactional());
  EXPECT_FALSE(batch->header.is_control());
  EXPECT_EQ(batch->header.timestamp_type(), TimestampType::kLogAppendTime);
  EXPECT_EQ(batch->header.codec(), Codec::kZstd);
  EXPECT_FALSE(batch->header.has_delete_horizon());
}

TEST(RecordBatch, ControlBatchWithCommitMarker) {
  // A transaction commit marker: key = version 0, type 1 (COMMIT); value = version 0,
  // coordinator epoch 5.
  BatchHeader h = sample_header(Codec::kNone);
  h.attributes |= BatchHeader::kTransactionalBit | BatchHeader::kControlBit;
  const std::string key("\0\0\0\1", 4);
  const std::string value("\0\0\0\0\0\5", 6);
  auto bytes = build(h, {{0, 0, key, value, {}}});
  auto batch = parse_batch(bytes);
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(batch->header.is_control());
  EXPECT_TRUE(batch->header.is_transactional());
  auto records = read_all(*batch);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, key);
  EXPECT_EQ(records[0].value, value);
}

TEST(RecordBatch, DeleteHorizonBit) {
  BatchHeader h = sample_header(Codec::kNone);
  h.attributes |= BatchHeader::kDeleteHorizonBit;
  auto batch = parse_batch(build(h, sample_records()));
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(batch->header.has_delete_horizon());
}

TEST(RecordBatch, BadCrcIsDataLoss) {
  auto bytes = build(sample_header(Codec::kNone), sample_records());
  bytes.back() ^= 0x01;
  auto batch = parse_batch(bytes);
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.error().code, ErrorCode::kDataLoss);
  ParseOptions no_check;
  no_check.verify_crc = false;
  EXPECT_TRUE(parse_batch(bytes, no_check).ok());
}

TEST(RecordsBlob, SeveralBatchesThenATruncatedOne) {
  std::vector<uint8_t> blob;
  for (Codec codec : kAllCodecs) {
    auto b = build(sample_header(codec), sample_records());
    blob.insert(blob.end(), b.begin(), b.end());
  }
  auto last = build(sample_header(Codec::kLz4), sample_records());
  for (size_t cut : {size_t{1}, size_t{16}, size_t{17}, size_t{61}, last.size() - 1}) {
    SCOPED_TRACE(cut);
    std::vector<uint8_t> with_partial = blob;
    with_partial.insert(with_partial.end(), last.begin(), last.begin() + static_cast<long>(cut));
    std::vector<RecordsEntry> entries;
    ASSERT_TRUE(parse_records(with_partial, entries).ok());
    ASSERT_EQ(entries.size(), 6u);
    for (size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(entries[i].kind, EntryKind::kBatch);
      EXPECT_EQ(entries[i].batch.header.codec(), kAllCodecs[i]);
      EXPECT_EQ(read_all(entries[i].batch), sample_records());
    }
    EXPECT_EQ(entries[5].kind, EntryKind::kTruncated);
    EXPECT_EQ(entries[5].bytes.size(), cut);
    EXPECT_EQ(entries[5].bytes.data(), with_partial.data() + blob.size());
  }
}

// A magic v1 message (offset, size, crc, magic 1, attributes, timestamp, key, value).
std::vector<uint8_t> legacy_v1_message() {
  std::vector<uint8_t> m = {0,    0,    0,    0,    0, 0, 0, 9,  // offset 9
                            0,    0,    0,    22,                // message size
                            0xDE, 0xAD, 0xBE, 0xEF,  // crc (not checked: passed through)
                            1,    0,                 // magic 1, attributes
                            0,    0,    0,    0,    0, 0, 0, 1,  // timestamp
                            0xFF, 0xFF, 0xFF, 0xFF,              // null key
                            0,    0,    0,    0};                // empty value
  return m;
}

TEST(RecordsBlob, LegacyMessagesPassThroughUntouched) {
  std::vector<uint8_t> blob = legacy_v1_message();
  auto v0 = legacy_v1_message();
  v0[16] = 0;
  blob.insert(blob.end(), v0.begin(), v0.end());
  auto v2 = build(sample_header(Codec::kGzip), sample_records());
  blob.insert(blob.end(), v2.begin(), v2.end());
  std::vector<RecordsEntry> entries;
  ASSERT_TRUE(parse_records(blob, entries).ok());
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].kind, EntryKind::kLegacy);
  EXPECT_EQ(entries[0].bytes.size(), 34u);
  EXPECT_EQ(entries[1].kind, EntryKind::kLegacy);
  EXPECT_EQ(entries[2].kind, EntryKind::kBatch);
  EXPECT_EQ(read_all(entries[2].batch), sample_records());
}

TEST(RecordsBlob, MalformedInputGivesErrorsNotCrashes) {
  auto good = build(sample_header(Codec::kNone), sample_records());
  {
    auto bad = good;
    bad[16] = 7;  // unknown magic
    std::vector<RecordsEntry> entries;
    EXPECT_FALSE(parse_records(bad, entries).ok());
  }
  {
    auto bad = good;
    bad[8] = 0x80;  // negative length
    std::vector<RecordsEntry> entries;
    EXPECT_FALSE(parse_records(bad, entries).ok());
  }
  {
    auto bad = good;
    bad[11] = 20;  // length below the header size
    bad.resize(32);
    std::vector<RecordsEntry> entries;
    EXPECT_FALSE(parse_records(bad, entries).ok());
  }
  {
    auto bad = good;
    bad[57] = 0x7F;  // a record count no batch of this size can hold
    ParseOptions no_check;
    no_check.verify_crc = false;
    auto batch = parse_batch(bad, no_check);
    ASSERT_FALSE(batch.ok());
    EXPECT_EQ(batch.error().code, ErrorCode::kInvalidArgument);
  }
  {
    // Record count one higher than the records present, with a valid CRC.
    BatchHeader h = sample_header(Codec::kSnappy);
    BatchBuilder builder(h);
    builder.add(0, 0, NullableBytes::of("k"), NullableBytes::of("v"));
    std::vector<uint8_t> lying;
    BatchHeader wrong = h;
    wrong.record_count = 2;
    ASSERT_TRUE(write_batch(wrong, builder.uncompressed_records(), lying).ok());
    auto batch = parse_batch(lying);
    ASSERT_TRUE(batch.ok());
    BatchRewriter rewriter;
    std::span<const uint8_t> section;
    ASSERT_TRUE(rewriter.records_section(*batch, section).ok());
    RecordReader reader(section, batch->header.record_count);
    RecordView r;
    int n = 0;
    while (reader.next(r)) {
      ++n;
    }
    EXPECT_EQ(n, 1);
    EXPECT_FALSE(reader.status().ok());
  }
}

TEST(RecordReader, RejectsEveryTruncationOfARecordSection) {
  BatchBuilder builder(sample_header(Codec::kNone));
  for (const PlainRecord& r : sample_records()) {
    std::vector<HeaderInput> headers;
    for (const auto& [k, v] : r.headers) {
      headers.push_back({k, to_nullable(v)});
    }
    builder.add(r.timestamp_delta, r.offset_delta, to_nullable(r.key), to_nullable(r.value),
                headers);
  }
  auto section = builder.uncompressed_records();
  for (size_t cut = 0; cut < section.size(); ++cut) {
    // Copy so that reading past the cut would be caught by AddressSanitizer builds.
    std::vector<uint8_t> part(section.begin(), section.begin() + static_cast<long>(cut));
    RecordReader reader(part, 4);
    RecordView r;
    while (reader.next(r)) {
    }
    EXPECT_FALSE(reader.status().ok()) << cut;
  }
}

TEST(RecordBatch, RandomRoundTripProperty) {
  std::mt19937_64 rng(20261128);
  auto random_string = [&](size_t max) {
    std::string s(rng() % (max + 1), '\0');
    for (char& c : s) {
      c = static_cast<char>(rng());
    }
    return s;
  };
  auto maybe = [&](size_t max) -> std::optional<std::string> {
    if (rng() % 5 == 0) {
      return std::nullopt;
    }
    return random_string(max);
  };
  for (int iteration = 0; iteration < 200; ++iteration) {
    Codec codec = kAllCodecs[rng() % 5];
    BatchHeader h = sample_header(codec);
    if (rng() % 2 != 0) {
      h.attributes |= BatchHeader::kTransactionalBit;
    }
    h.producer_id = static_cast<int64_t>(rng() >> 1);
    h.base_sequence = static_cast<int32_t>(rng() % 100000);
    std::vector<PlainRecord> records(rng() % 20 + 1);
    int32_t offset = 0;
    for (PlainRecord& r : records) {
      r.timestamp_delta = static_cast<int64_t>(rng() % 100000) - 50000;
      r.offset_delta = offset;
      offset += static_cast<int32_t>(rng() % 3 + 1);  // compacted gaps
      r.key = maybe(20);
      r.value = maybe(2000);
      for (size_t i = rng() % 4; i > 0; --i) {
        r.headers.emplace_back(random_string(10), maybe(30));
      }
    }
    SCOPED_TRACE(iteration);
    auto bytes = build(h, records);
    std::vector<RecordsEntry> entries;
    ASSERT_TRUE(parse_records(bytes, entries).ok());
    ASSERT_EQ(entries.size(), 1u);
    ASSERT_EQ(entries[0].kind, EntryKind::kBatch);
    EXPECT_EQ(entries[0].batch.header.record_count, static_cast<int32_t>(records.size()));
    EXPECT_EQ(entries[0].batch.header.last_offset_delta, records.back().offset_delta);
    EXPECT_EQ(read_all(entries[0].batch), records);
  }
}

}  // namespace
}  // namespace kenc::kafka::records
