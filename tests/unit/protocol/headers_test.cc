#include "common/kafka/protocol/headers.h"

#include <gtest/gtest.h>

#include <concepts>
#include <vector>

#include "common/kafka/frame.h"
#include "common/kafka/protocol/api_table.h"

namespace kenc::kafka {
namespace {

Reader reader_of(std::vector<uint8_t> bytes) { return Reader(SharedBytes(std::move(bytes))); }
// A writer's buffer (a template, so that a braced list still picks the overload above).
template <typename Buffer>
requires std::same_as<Buffer, ByteBuffer> Reader reader_of(Buffer bytes) {
  return Reader(SharedBytes(std::move(bytes)));
}

TEST(RequestHeaderTest, Version1HasANonCompactClientId) {
  RequestHeader h{3, 12, 0x01020304, "abc", {}};
  Writer w;
  ASSERT_TRUE(h.encode(w, 1).ok());
  EXPECT_EQ(w.bytes(), (std::vector<uint8_t>{0, 3, 0, 12, 1, 2, 3, 4, 0, 3, 'a', 'b', 'c'}));
  EXPECT_EQ(h.encoded_size(1), w.size());
}

TEST(RequestHeaderTest, Version2KeepsTheClientIdNonCompactAndAddsTaggedFields) {
  RequestHeader h{18, 3, 7, std::nullopt, {{2, {0xAB}}}};
  Writer w;
  ASSERT_TRUE(h.encode(w, 2).ok());
  EXPECT_EQ(w.bytes(), (std::vector<uint8_t>{0, 18, 0, 3, 0, 0, 0, 7, 0xFF, 0xFF, 1, 2, 1, 0xAB}));
  Reader r = reader_of(w.bytes());
  RequestHeader back;
  ASSERT_TRUE(back.decode(r, 2).ok());
  EXPECT_EQ(back, h);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(RequestHeaderTest, Version0HasOnlyTheFixedPrefix) {
  RequestHeader h{7, 0, 42, std::nullopt, {}};
  Writer w;
  ASSERT_TRUE(h.encode(w, 0).ok());
  EXPECT_EQ(w.size(), kRequestHeaderPrefixBytes);
  h.client_id = "x";
  Writer w2;
  EXPECT_FALSE(h.encode(w2, 0).ok());
}

TEST(RequestHeaderTest, PrefixesFailCleanly) {
  RequestHeader h{1, 17, 99, "consumer-1", {{0, {1, 2, 3}}}};
  Writer w;
  ASSERT_TRUE(h.encode(w, 2).ok());
  const ByteBuffer& bytes = w.bytes();
  for (size_t n = 0; n < bytes.size(); ++n) {
    Reader r = reader_of(std::vector<uint8_t>(bytes.begin(), bytes.begin() + n));
    RequestHeader back;
    Status s = back.decode(r, 2);
    ASSERT_FALSE(s.ok()) << n;
    EXPECT_EQ(s.error().code, ErrorCode::kOutOfRange) << n;
  }
}

TEST(RequestHeaderTest, DecodeChoosesTheHeaderVersionFromTheApiTable) {
  // Fetch v17 is flexible: header v2.
  RequestHeader flexible{1, 17, 5, "c", {}};
  Writer w;
  ASSERT_TRUE(flexible.encode(w, 2).ok());
  w.write_int32(0x11223344);  // start of the body
  Reader r = reader_of(w.take_bytes());
  Result<RequestHeader> back = decode_request_header(r);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, flexible);
  EXPECT_EQ(r.read_int32(), 0x11223344);

  // Metadata v4 is not: header v1, no tagged-field section.
  RequestHeader old{3, 4, 6, "c", {}};
  Writer w1;
  ASSERT_TRUE(old.encode(w1, 1).ok());
  Reader r1 = reader_of(w1.take_bytes());
  Result<RequestHeader> back1 = decode_request_header(r1);
  ASSERT_TRUE(back1.ok());
  EXPECT_EQ(r1.remaining(), 0u);
}

TEST(RequestHeaderTest, UnknownApiKeyOrVersionIsUnsupported) {
  Reader unknown_key = reader_of({0x7F, 0x00, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF});
  Result<RequestHeader> a = decode_request_header(unknown_key);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::kUnsupported);
  Reader unknown_version = reader_of({0, 0, 0x7F, 0, 0, 0, 0, 1, 0xFF, 0xFF});
  Result<RequestHeader> b = decode_request_header(unknown_version);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kUnsupported);
}

TEST(ResponseHeaderTest, Versions0And1) {
  ResponseHeader h{77, {}};
  Writer w0;
  ASSERT_TRUE(h.encode(w0, 0).ok());
  EXPECT_EQ(w0.bytes(), (std::vector<uint8_t>{0, 0, 0, 77}));
  Writer w1;
  ASSERT_TRUE(h.encode(w1, 1).ok());
  EXPECT_EQ(w1.bytes(), (std::vector<uint8_t>{0, 0, 0, 77, 0}));
  h.unknown_tagged_fields = {{4, {9}}};
  Writer w2;
  EXPECT_FALSE(h.encode(w2, 0).ok());
  EXPECT_EQ(h.encoded_size(1), 8u);
  EXPECT_FALSE(h.encode(w2, 2).ok());
}

TEST(ResponseHeaderTest, HeaderVersionsFollowTheFlexibleVersions) {
  EXPECT_EQ(*response_header_version(kApiVersionsKey, 3), 0);  // always v0
  EXPECT_EQ(*response_header_version(kApiVersionsKey, 0), 0);
  EXPECT_EQ(*response_header_version(1, 12), 1);  // Fetch v12 is flexible
  EXPECT_EQ(*response_header_version(1, 11), 0);
  EXPECT_EQ(*request_header_version(kApiVersionsKey, 3), 2);
  EXPECT_EQ(*request_header_version(kApiVersionsKey, 2), 1);
  EXPECT_EQ(*request_header_version(0, 9), 2);  // Produce v9 is flexible
  EXPECT_EQ(*request_header_version(0, 8), 1);
  EXPECT_FALSE(request_header_version(0, 2).ok());  // Produce v0-2 were removed in Kafka 4.0
}

}  // namespace
}  // namespace kenc::kafka
