#include <gtest/gtest.h>

#include <concepts>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/kafka/protocol/reader.h"
#include "common/kafka/protocol/writer.h"

namespace kenc::kafka {
namespace {

Reader reader_of(std::vector<uint8_t> bytes) { return Reader(SharedBytes(std::move(bytes))); }
// A writer's buffer (a template, so that a braced list still picks the overload above).
template <typename Buffer>
requires std::same_as<Buffer, ByteBuffer> Reader reader_of(Buffer bytes) {
  return Reader(SharedBytes(std::move(bytes)));
}

TEST(WriterTest, WritesBigEndianScalars) {
  Writer w;
  w.write_int8(-2);
  w.write_int16(0x1234);
  w.write_int32(-1);
  w.write_int64(0x0102030405060708);
  w.write_uint16(0xFFFE);
  w.write_bool(true);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w.bytes(), (std::vector<uint8_t>{0xFE, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4,
                                             5, 6, 7, 8, 0xFF, 0xFE, 1}));
}

TEST(ReaderTest, ReadsWhatTheWriterWrote) {
  Writer w;
  w.write_int64(std::numeric_limits<int64_t>::min());
  w.write_float64(3.25);
  Uuid id{};
  id[0] = 0xAB;
  id[15] = 0xCD;
  w.write_uuid(id);
  w.write_uvarint32(300);
  w.write_varint32(-5);
  w.write_varlong(-1234567890123);
  Reader r = reader_of(w.take_bytes());
  EXPECT_EQ(r.read_int64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.read_float64(), 3.25);
  EXPECT_EQ(r.read_uuid(), id);
  EXPECT_EQ(r.read_uvarint32(), 300u);
  EXPECT_EQ(r.read_varint32(), -5);
  EXPECT_EQ(r.read_varlong(), -1234567890123);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(ReaderTest, TruncatedScalarFailsAndStaysFailed) {
  Reader r = reader_of({0x00, 0x01, 0x02});
  EXPECT_EQ(r.read_int32(), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error().code, ErrorCode::kOutOfRange);
  // Sticky: later reads return zero values and consume nothing, even when bytes would suffice.
  EXPECT_EQ(r.read_int8(), 0);
  EXPECT_EQ(r.position(), 0u);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(ReaderTest, StringsCompactAndNot) {
  Writer w;
  w.write_string("abc", false);
  w.write_string("hello", true);
  w.write_nullable_string(std::nullopt, false, true);
  w.write_nullable_string(std::nullopt, true, true);
  EXPECT_EQ(w.bytes(),
            (std::vector<uint8_t>{0, 3, 'a', 'b', 'c', 6, 'h', 'e', 'l', 'l', 'o', 0xFF, 0xFF, 0}));
  Reader r = reader_of(w.take_bytes());
  std::string s;
  r.read_string(s, false);
  EXPECT_EQ(s, "abc");
  r.read_string(s, true);
  EXPECT_EQ(s, "hello");
  std::optional<std::string> n = "x";
  r.read_nullable_string(n, false, true);
  EXPECT_FALSE(n.has_value());
  n = "x";
  r.read_nullable_string(n, true, true);
  EXPECT_FALSE(n.has_value());
  EXPECT_TRUE(r.ok());
}

TEST(ReaderTest, NullWhereNotNullableIsAnError) {
  Reader r = reader_of({0xFF, 0xFF});
  std::string s;
  r.read_string(s, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error().code, ErrorCode::kInvalidArgument);

  Writer w;
  w.write_nullable_string(std::nullopt, false, false);
  EXPECT_FALSE(w.ok());
}

TEST(ReaderTest, StringLengthBeyondTheBufferFailsBeforeAllocating) {
  Reader r = reader_of({0x7F, 0xFF, 'a'});
  std::string s;
  r.read_string(s, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error().code, ErrorCode::kOutOfRange);
  EXPECT_TRUE(s.empty());
}

TEST(ReaderTest, ArrayCountIsCheckedAgainstTheBytesLeft) {
  // 1000 elements of at least 4 bytes cannot fit in 8 bytes.
  Reader r = reader_of({0x00, 0x00, 0x03, 0xE8, 1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(r.read_array_length(false, false, 4), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error().code, ErrorCode::kOutOfRange);

  Reader fits = reader_of({0x00, 0x00, 0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(fits.read_array_length(false, false, 4), 2);
  EXPECT_TRUE(fits.ok());

  Reader huge = reader_of({0xFF, 0xFF, 0xFF, 0xFF, 0x0F});  // compact count 2^32 - 2
  EXPECT_EQ(huge.read_array_length(true, false, 1), 0);
  EXPECT_FALSE(huge.ok());

  Reader negative = reader_of({0xFF, 0xFF, 0xFF, 0xFE});
  EXPECT_EQ(negative.read_array_length(false, true, 1), 0);
  EXPECT_EQ(negative.status().error().code, ErrorCode::kInvalidArgument);

  Reader null = reader_of({0x00});
  EXPECT_EQ(null.read_array_length(true, true, 1), -1);
  EXPECT_TRUE(null.ok());
}

TEST(ReaderTest, OverlongVarintIsInvalid) {
  Reader r = reader_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  r.read_uvarint32();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error().code, ErrorCode::kInvalidArgument);

  Reader truncated = reader_of({0x80, 0x80});
  truncated.read_uvarint32();
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().error().code, ErrorCode::kOutOfRange);
}

TEST(ReaderTest, RecordsAreSlicesOfTheFrameNotCopies) {
  auto frame = std::vector<uint8_t>{0, 0, 0, 3, 7, 8, 9, 0xEE};
  SharedBytes shared(frame);
  Reader r(shared);
  std::optional<SharedBytes> records;
  r.read_nullable_records(records, false, true);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(records.has_value());
  EXPECT_EQ(records->size(), 3u);
  EXPECT_EQ(records->data(), shared.data() + 4);
  EXPECT_EQ(r.remaining(), 1u);
}

TEST(ReaderTest, TaggedFieldsKeepUnknownTagsRaw) {
  Writer w;
  RawTaggedFields fields{{1, {0xAA}}, {7, {0xBB, 0xCC}}};
  w.write_unknown_tagged_fields(fields, true);
  EXPECT_EQ(w.bytes(), (std::vector<uint8_t>{2, 1, 1, 0xAA, 7, 2, 0xBB, 0xCC}));
  Reader r = reader_of(w.take_bytes());
  RawTaggedFields back;
  r.read_unknown_tagged_fields(back, true);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(back, fields);
}

TEST(ReaderTest, TaggedFieldSizeBeyondTheBufferFails) {
  Reader r = reader_of({1, 5, 10, 0xAA});
  RawTaggedFields back;
  r.read_unknown_tagged_fields(back, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().error().code, ErrorCode::kOutOfRange);
}

TEST(WriterTest, CountingWriterMatchesRealWriter) {
  auto put = [](Writer& w) {
    w.write_string("kenc", true);
    w.write_uvarint32(1u << 20);
    w.write_bytes(std::vector<uint8_t>(200, 1), true);
    w.write_tagged_field(3, [](Writer& out) { out.write_int32(5); });
  };
  Writer real;
  put(real);
  Writer counter = Writer::counting();
  put(counter);
  EXPECT_EQ(counter.size(), real.size());
  EXPECT_TRUE(counter.bytes().empty());
}

TEST(WriterTest, NonCompactStringTooLongFails) {
  Writer w;
  w.write_string(std::string(40000, 'x'), false);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().error().code, ErrorCode::kInvalidArgument);
}

TEST(WriterTest, UnknownTagsMergeWithKnownTagsInOrder) {
  Writer w;
  RawTaggedFields unknown{{0, {0x01}}, {5, {0x02}}};
  size_t next = w.write_raw_tagged_fields(unknown, 0, 3);
  EXPECT_EQ(next, 1u);
  w.write_tagged_field(3, [](Writer& out) { out.write_int8(9); });
  w.write_raw_tagged_fields(unknown, next, ~uint64_t{0});
  EXPECT_EQ(w.bytes(), (std::vector<uint8_t>{0, 1, 0x01, 3, 1, 9, 5, 1, 0x02}));
}

}  // namespace
}  // namespace kenc::kafka
