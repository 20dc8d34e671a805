#include "proxy/filters/record_encryption/cipher_headers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/crypto/cipher_record.h"

namespace kenc::record_encryption {
namespace {

using kafka::records::append_headers;
using kafka::records::append_record;
using kafka::records::HeaderInput;
using kafka::records::NullableBytes;
using kafka::records::RecordReader;
using kafka::records::RecordView;

const uint8_t kVersion1[] = {crypto::kCipherFormatV1};

// One record with `headers`, encoded and read back the way the filter sees it.
class EncodedRecord {
 public:
  explicit EncodedRecord(const std::vector<HeaderInput>& headers) {
    std::vector<uint8_t> encoded_headers;
    append_headers(encoded_headers, headers);
    append_record(bytes_, 0, 5, 3, NullableBytes::of("key"), NullableBytes::of("value"),
                  encoded_headers);
    RecordReader reader(bytes_, 1);
    EXPECT_TRUE(reader.next(view_)) << reader.status().error().to_string();
  }
  const RecordView& view() const { return view_; }

 private:
  std::vector<uint8_t> bytes_;
  RecordView view_;
};

std::vector<uint8_t> encode(const std::vector<HeaderInput>& headers) {
  std::vector<uint8_t> out;
  append_headers(out, headers);
  return out;
}

HeaderInput cipher_header() {
  return {crypto::kCipherHeaderKey, NullableBytes(std::span<const uint8_t>(kVersion1))};
}

TEST(CipherHeaders, RecordWithoutTheHeaderHasNone) {
  EncodedRecord none({});
  EXPECT_FALSE(find_cipher_header(none.view()).found);
  EncodedRecord others({{"trace", NullableBytes::of("abc")}, {"kencx", NullableBytes::null()}});
  EXPECT_FALSE(find_cipher_header(others.view()).found);
}

TEST(CipherHeaders, RemovingTheHeaderKeepsEveryOtherHeaderInOrder) {
  const HeaderInput a{"a", NullableBytes::of("1")};
  const HeaderInput nulled{"nulled", NullableBytes::null()};
  const HeaderInput empty{"empty", NullableBytes::of("")};
  // The `kenc` header first, in the middle, last and alone.
  const std::vector<std::vector<HeaderInput>> cases = {
      {cipher_header(), a, nulled},
      {a, cipher_header(), nulled, empty},
      {a, nulled, empty, cipher_header()},
      {cipher_header()},
  };
  for (const auto& headers : cases) {
    EncodedRecord record(headers);
    const CipherHeader found = find_cipher_header(record.view());
    ASSERT_TRUE(found.found);
    EXPECT_FALSE(found.duplicate);
    ASSERT_FALSE(found.value.is_null());
    EXPECT_EQ(found.value.size(), 1u);
    EXPECT_EQ(found.value.bytes()[0], crypto::kCipherFormatV1);

    std::vector<HeaderInput> expected;
    for (const HeaderInput& h : headers) {
      if (h.key != crypto::kCipherHeaderKey) {
        expected.push_back(h);
      }
    }
    std::vector<uint8_t> out = {0xee};  // appended to, never overwritten
    append_headers_without_cipher_header(record.view(), found, out);
    std::vector<uint8_t> want = {0xee};
    auto expected_bytes = encode(expected);
    want.insert(want.end(), expected_bytes.begin(), expected_bytes.end());
    EXPECT_EQ(out, want) << "with " << headers.size() << " headers";
  }
}

TEST(CipherHeaders, AddingThenRemovingTheHeaderRestoresTheHeaders) {
  const std::vector<HeaderInput> headers = {{"x", NullableBytes::of("1")},
                                            {"y", NullableBytes::null()}};
  EncodedRecord plain(headers);
  std::vector<uint8_t> with;
  append_headers_with_cipher_header(plain.view(), crypto::kCipherFormatV1, with);
  std::vector<HeaderInput> expected_with = headers;
  expected_with.push_back(cipher_header());
  EXPECT_EQ(with, encode(expected_with));

  EncodedRecord cipher(expected_with);
  std::vector<uint8_t> without;
  append_headers_without_cipher_header(cipher.view(), find_cipher_header(cipher.view()), without);
  EXPECT_EQ(without, encode(headers));
}

TEST(CipherHeaders, DuplicateAndNullHeadersAreReported) {
  EncodedRecord twice({cipher_header(), {"a", NullableBytes::of("1")}, cipher_header()});
  EXPECT_TRUE(find_cipher_header(twice.view()).duplicate);

  EncodedRecord null_value({{crypto::kCipherHeaderKey, NullableBytes::null()}});
  const CipherHeader found = find_cipher_header(null_value.view());
  EXPECT_TRUE(found.found);
  EXPECT_TRUE(found.value.is_null());
}

TEST(CipherHeaders, OnlyTheCipherHeader) {
  std::vector<uint8_t> out;
  append_only_cipher_header(crypto::kCipherFormatV2, out);
  const uint8_t version2[] = {crypto::kCipherFormatV2};
  EXPECT_EQ(
      out, encode({{crypto::kCipherHeaderKey, NullableBytes(std::span<const uint8_t>(version2))}}));
}

}  // namespace
}  // namespace kenc::record_encryption
