#include "common/crypto/cipher_record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace kenc::crypto {
namespace {

const std::vector<uint8_t> kHeaderV1{kCipherFormatV1};

std::vector<uint8_t> test_key() {
  std::vector<uint8_t> key(32);
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<uint8_t>(i);
  }
  return key;
}

// A Vault/local-KMS shaped EDEK: 10-character KEK name, version 1, 60 wrapped bytes.
std::vector<uint8_t> test_edek() {
  std::vector<uint8_t> wrapped(60);
  for (size_t i = 0; i < wrapped.size(); ++i) {
    wrapped[i] = static_cast<uint8_t>(0xA0 + i);
  }
  return serialize_edek(Edek{"orders-kek", 1, wrapped}).value();
}

std::vector<uint8_t> encrypt_value(const std::vector<uint8_t>& edek, IvFields iv,
                                   const std::vector<uint8_t>& plaintext) {
  auto enc = AesGcmEncryptor::create(test_key());
  std::vector<uint8_t> out(cipher_record_value_size(edek.size(), iv, plaintext.size()));
  auto written = write_cipher_record_value(*enc, edek, iv, plaintext, out);
  EXPECT_TRUE(written.ok());
  EXPECT_EQ(*written, out.size());
  return out;
}

std::string hex_dump(const std::vector<uint8_t>& bytes) {
  std::string out;
  char line[24];
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i % 16 == 0) {
      std::snprintf(line, sizeof(line), "%04zx ", i);
      out += line;
    }
    std::snprintf(line, sizeof(line), " %02x", bytes[i]);
    out += line;
    if (i % 16 == 15 || i + 1 == bytes.size()) {
      out += '\n';
    }
  }
  return out;
}

TEST(CipherRecord, RoundTrips) {
  auto edek = test_edek();
  auto dec = AesGcmDecryptor::create(test_key());
  for (size_t size : {0u, 1u, 100u, 1024u, 70000u}) {
    std::vector<uint8_t> plaintext(size, static_cast<uint8_t>(size));
    IvFields iv{123456, 9876543210ull};
    auto value = encrypt_value(edek, iv, plaintext);
    auto record = parse_cipher_record(kHeaderV1, value);
    ASSERT_TRUE(record.ok()) << record.error().to_string();
    EXPECT_EQ(record->format_version, 1);
    EXPECT_EQ(record->iv, iv);
    EXPECT_EQ(std::vector<uint8_t>(record->edek.begin(), record->edek.end()), edek);
    EXPECT_EQ(record->edek_fields.kek_id, "orders-kek");
    EXPECT_EQ(record->edek_fields.kek_version, 1u);
    EXPECT_EQ(record->plaintext_size(), size);
    std::vector<uint8_t> back(record->plaintext_size());
    ASSERT_TRUE(decrypt_cipher_record(*dec, *record, back).ok());
    EXPECT_EQ(back, plaintext);
  }
}

// Overhead for a 10-character KEK name, as stated in docs/cipher-record-format.md: the value
// grows by 1 (EDEK length) + 72 (EDEK) + lease and counter varints + 16 (tag).
TEST(CipherRecord, OverheadForATenCharacterKekName) {
  auto edek = test_edek();
  ASSERT_EQ(edek.size(), 72u);
  EXPECT_EQ(cipher_record_value_size(edek.size(), IvFields{1, 0}, 1024) - 1024, 91u);
  EXPECT_EQ(cipher_record_value_size(edek.size(), IvFields{200, 1000000}, 1024) - 1024, 94u);
  EXPECT_EQ(cipher_record_value_size(edek.size(), IvFields{UINT32_MAX, 1ull << 40}, 1024) - 1024,
            100u);
}

// The worked example of docs/cipher-record-format.md; the test prints the hex dump that the
// document shows and pins its bytes.
TEST(CipherRecord, WorkedExample) {
  auto edek = test_edek();
  std::string text = "hello, kafka";
  std::vector<uint8_t> plaintext(text.begin(), text.end());
  auto value = encrypt_value(edek, IvFields{7, 42}, plaintext);
  std::string dump = hex_dump(value);
  std::printf("header kenc = 01\nvalue (%zu bytes):\n%s", value.size(), dump.c_str());
  EXPECT_EQ(value.size(), 1 + 72 + 1 + 1 + 12 + 16u);
  EXPECT_EQ(dump,
            "0000  48 0a 6f 72 64 65 72 73 2d 6b 65 6b 01 a0 a1 a2\n"
            "0010  a3 a4 a5 a6 a7 a8 a9 aa ab ac ad ae af b0 b1 b2\n"
            "0020  b3 b4 b5 b6 b7 b8 b9 ba bb bc bd be bf c0 c1 c2\n"
            "0030  c3 c4 c5 c6 c7 c8 c9 ca cb cc cd ce cf d0 d1 d2\n"
            "0040  d3 d4 d5 d6 d7 d8 d9 da db 07 2a 6c 03 51 96 d5\n"
            "0050  c1 30 4f 51 0f 32 7d b4 b0 bd 31 d4 be 43 b2 18\n"
            "0060  9c a3 f2 d3 01 93 20\n");
}

TEST(CipherRecord, EveryAuthenticatedByteIsProtected) {
  auto edek = test_edek();
  auto dec = AesGcmDecryptor::create(test_key());
  std::vector<uint8_t> plaintext(20, 'v');
  auto value = encrypt_value(edek, IvFields{3, 77}, plaintext);
  for (size_t i = 0; i < value.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80}) {
      auto tampered = value;
      tampered[i] ^= flip;
      auto record = parse_cipher_record(kHeaderV1, tampered);
      if (!record.ok()) {
        continue;  // structurally invalid: rejected before decryption
      }
      std::vector<uint8_t> back(record->plaintext_size());
      Status s = decrypt_cipher_record(*dec, *record, back);
      ASSERT_FALSE(s.ok()) << "byte " << i << " flip " << int(flip) << " went undetected";
      // A changed EDEK would in practice pick another (or no) DEK; here the tag catches it.
      EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
    }
  }
}

TEST(CipherRecord, EveryTruncationIsAnError) {
  auto edek = test_edek();
  auto dec = AesGcmDecryptor::create(test_key());
  auto value = encrypt_value(edek, IvFields{3, 77}, std::vector<uint8_t>(20, 'v'));
  for (size_t len = 0; len < value.size(); ++len) {
    std::vector<uint8_t> cut(value.begin(), value.begin() + static_cast<long>(len));
    auto record = parse_cipher_record(kHeaderV1, cut);
    if (!record.ok()) {
      continue;
    }
    std::vector<uint8_t> back(record->plaintext_size());
    EXPECT_FALSE(decrypt_cipher_record(*dec, *record, back).ok()) << "length " << len;
  }
}

TEST(CipherRecord, RejectsBadHeaderValues) {
  auto value = encrypt_value(test_edek(), IvFields{1, 1}, {1, 2, 3});
  EXPECT_EQ(parse_cipher_record(std::vector<uint8_t>{}, value).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_cipher_record(std::vector<uint8_t>{1, 1}, value).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_cipher_record(std::vector<uint8_t>{3}, value).error().code,
            ErrorCode::kUnsupported);
  EXPECT_EQ(parse_cipher_record(std::vector<uint8_t>{0}, value).error().code,
            ErrorCode::kUnsupported);
}

TEST(CipherRecord, TheFormatVersionIsAuthenticated) {
  // A version 1 record relabelled as version 2 (whose plaintext would be read as headers and
  // value) must not decrypt: the version byte is part of the AAD.
  auto dec = AesGcmDecryptor::create(test_key());
  ASSERT_TRUE(dec.ok());
  auto value = encrypt_value(test_edek(), IvFields{1, 1}, {1, 2, 3});
  auto relabelled = parse_cipher_record(std::vector<uint8_t>{kCipherFormatV2}, value);
  ASSERT_TRUE(relabelled.ok());
  std::vector<uint8_t> plaintext(relabelled->plaintext_size());
  EXPECT_EQ(decrypt_cipher_record(*dec, *relabelled, plaintext).error().code, ErrorCode::kDataLoss);
}

TEST(CipherRecord, HeadersAndValueRoundTripAndRejectBadLengths) {
  std::vector<uint8_t> headers{2, 1, 'a', 2, 'x', 'y'};
  std::vector<uint8_t> value{'v', 'a', 'l'};
  std::vector<uint8_t> plaintext;
  append_headers_and_value(headers, value, plaintext);
  EXPECT_EQ(plaintext.size(), headers_and_value_size(headers, value));
  auto parts = split_headers_and_value(plaintext);
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(std::ranges::equal(parts->encoded_headers, headers));
  EXPECT_TRUE(std::ranges::equal(parts->value, value));
  EXPECT_FALSE(split_headers_and_value(std::vector<uint8_t>{}).ok());
  EXPECT_FALSE(split_headers_and_value(std::vector<uint8_t>{9, 1, 2}).ok());
}

TEST(CipherRecord, RejectsGarbageValues) {
  const std::vector<std::vector<uint8_t>> garbage{
      {},
      {0x00},                                                       // EDEK length 0
      {0x80, 0x80, 0x80, 0x80, 0x80, 0x01},                         // overlong varint
      {0xFF, 0xFF, 0xFF, 0xFF, 0x0F},                               // EDEK length 2^32-1
      {0x81, 0x80, 0x04},                                           // EDEK length 65537
      {0x05, 0x01, 'k', 0x01, 0xAA},                                // truncated EDEK
      {0x04, 0x01, 'k', 0x01, 0xAA, 0x01, 0x01},                    // no tag
      {0x04, 0x00, 'k', 0x01, 0xAA, 0x01, 0x01},                    // EDEK with an empty KEK id
      {0x04, 0x01, 'k', 0x01, 0xAA, 0x80, 0x80, 0x80, 0x80, 0x10},  // lease >= 2^32
  };
  for (const auto& value : garbage) {
    EXPECT_FALSE(parse_cipher_record(kHeaderV1, value).ok()) << hex_dump(value);
  }
}

TEST(CipherRecord, WriterChecksItsInputs) {
  auto enc = AesGcmEncryptor::create(test_key());
  auto edek = test_edek();
  std::vector<uint8_t> plaintext(10);
  std::vector<uint8_t> out(cipher_record_value_size(edek.size(), IvFields{}, 10) - 1);
  EXPECT_EQ(write_cipher_record_value(*enc, edek, IvFields{}, plaintext, out).error().code,
            ErrorCode::kOutOfRange);
  out.resize(200);
  EXPECT_FALSE(write_cipher_record_value(*enc, {}, IvFields{}, plaintext, out).ok());
}

}  // namespace
}  // namespace kenc::crypto
