#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/crypto/aes_gcm.h"
#include "common/crypto/edek.h"
#include "common/crypto/iv_sequence.h"

namespace kenc::crypto {

// The cipher record format, version 1 (specified byte for byte in docs/cipher-record-format.md).
//
// A cipher record carries the record header `kenc` whose value is one byte, the format
// version. Version 1 means AES-256-GCM with a lease-derived IV and this value layout:
//
//   uvarint  EDEK length E (1 .. 2^16)
//   E bytes  EDEK (see edek.h)
//   uvarint  lease number (< 2^32)
//   uvarint  counter (< 2^64)
//   N bytes  ciphertext (N = plaintext length)
//   16 bytes GCM tag
//
// AAD = version byte || every value byte before the ciphertext, so neither the version, the
// EDEK nor the IV fields can be changed without the tag check failing. Record keys, headers
// and timestamps are not encrypted in version 1. Null values (tombstones) stay null.

inline constexpr std::string_view kCipherHeaderKey = "kenc";
inline constexpr uint8_t kCipherFormatV1 = 1;
// Version 2: the same layout, but the plaintext is the record's headers and its value
// (encrypt_headers: true); the record keeps only the `kenc` header. Plaintext layout:
//   uvarint  H, the length of the encoded headers
//   H bytes  the record's encoded headers (count varint, then each header, as on the wire)
//   rest     the value
inline constexpr uint8_t kCipherFormatV2 = 2;
inline constexpr bool is_supported_cipher_format(uint8_t version) {
  return version == kCipherFormatV1 || version == kCipherFormatV2;
}
// An EDEK is a KEK id (<= 256 bytes with its length), a version and a KMS-wrapped key; no
// real one comes near this bound, which keeps a garbage length from looking plausible.
inline constexpr size_t kMaxEdekBytes = 1 << 16;

// Exact size of the version 1 value for these inputs.
size_t cipher_record_value_size(size_t edek_bytes, const IvFields& iv, size_t plaintext_bytes);

// Encrypts `plaintext` and writes the whole version 1 value into `out`, which must hold at
// least cipher_record_value_size(...) bytes and must not overlap `plaintext`. Returns the
// number of bytes written. Allocates nothing. `edek` is the serialized EDEK of the DEK
// `encryptor` was created with. `format_version` goes into the AAD (the caller writes the same
// byte into the `kenc` header).
Result<size_t> write_cipher_record_value(AesGcmEncryptor& encryptor, std::span<const uint8_t> edek,
                                         const IvFields& iv, std::span<const uint8_t> plaintext,
                                         std::span<uint8_t> out,
                                         uint8_t format_version = kCipherFormatV1);

// A parsed cipher record value: every span points into the value given to the parser.
struct CipherRecordView {
  uint8_t format_version = 0;
  std::span<const uint8_t> edek;  // serialized EDEK: the DEK cache's key
  EdekView edek_fields;
  IvFields iv;
  std::span<const uint8_t> authenticated_prefix;  // value bytes before the ciphertext
  std::span<const uint8_t> ciphertext;
  std::span<const uint8_t> tag;  // always kGcmTagBytes long

  size_t plaintext_size() const { return ciphertext.size(); }
};

// Reads the value of the `kenc` header: exactly one byte naming a supported version.
// A version this build does not know gives kUnsupported; a malformed value kInvalidArgument.
Result<uint8_t> parse_cipher_header_value(std::span<const uint8_t> header_value);

// Parses a cipher record's value (given its `kenc` header value) without allocating or
// copying. Every length is checked against the bytes left; garbage gives an error value.
Result<CipherRecordView> parse_cipher_record(std::span<const uint8_t> header_value,
                                             std::span<const uint8_t> value);

// Verifies and decrypts into `plaintext` (exactly record.plaintext_size() bytes). A tag
// mismatch (tampered bytes or the wrong DEK) gives kDataLoss.
Status decrypt_cipher_record(AesGcmDecryptor& decryptor, const CipherRecordView& record,
                             std::span<uint8_t> plaintext);

// Version 2 plaintext (headers and value), built and taken apart without allocating beyond
// `out`'s growth.
size_t headers_and_value_size(std::span<const uint8_t> encoded_headers,
                              std::span<const uint8_t> value);
void append_headers_and_value(std::span<const uint8_t> encoded_headers,
                              std::span<const uint8_t> value, std::vector<uint8_t>& out);
struct HeadersAndValue {
  std::span<const uint8_t> encoded_headers;
  std::span<const uint8_t> value;
};
Result<HeadersAndValue> split_headers_and_value(std::span<const uint8_t> plaintext);

}  // namespace kenc::crypto
