#include "common/crypto/cipher_record.h"

#include <array>
#include <cstring>
#include <string>

#include "common/base/varint.h"

namespace kenc::crypto {
namespace {

size_t prefix_size(size_t edek_bytes, const IvFields& iv) {
  return uvarint_size(edek_bytes) + edek_bytes + uvarint_size(iv.lease_number) +
         uvarint_size(iv.counter);
}

// GCM hashes AAD fastest in one piece: when "version byte || prefix" is small (it always is
// for real EDEKs), it is assembled on the stack instead of being fed in two updates.
constexpr size_t kContiguousAadBytes = 256;

std::span<const uint8_t> contiguous_aad(uint8_t version, std::span<const uint8_t> prefix,
                                        std::array<uint8_t, kContiguousAadBytes>& buf) {
  buf[0] = version;
  std::memcpy(buf.data() + 1, prefix.data(), prefix.size());
  return std::span<const uint8_t>(buf.data(), prefix.size() + 1);
}

}  // namespace

size_t cipher_record_value_size(size_t edek_bytes, const IvFields& iv, size_t plaintext_bytes) {
  return prefix_size(edek_bytes, iv) + plaintext_bytes + kGcmTagBytes;
}

Result<size_t> write_cipher_record_value(AesGcmEncryptor& encryptor, std::span<const uint8_t> edek,
                                         const IvFields& iv, std::span<const uint8_t> plaintext,
                                         std::span<uint8_t> out, uint8_t format_version) {
  if (!is_supported_cipher_format(format_version)) {
    return make_error(ErrorCode::kInvalidArgument, "unknown cipher record format version");
  }
  if (edek.empty() || edek.size() > kMaxEdekBytes) {
    return make_error(ErrorCode::kInvalidArgument, "EDEK must be 1 to 65536 bytes");
  }
  size_t prefix = prefix_size(edek.size(), iv);
  size_t total = prefix + plaintext.size() + kGcmTagBytes;
  if (out.size() < total) {
    return make_error(ErrorCode::kOutOfRange, "output buffer too small for the cipher record");
  }
  // Filled by contiguous_aad() before use; zeroing 256 bytes per record would be wasted work.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init)
  std::array<uint8_t, kContiguousAadBytes> aad_buf;
  uint8_t* p = out.data();
  p += write_uvarint(p, edek.size());
  std::memcpy(p, edek.data(), edek.size());
  p += edek.size();
  p += write_uvarint(p, iv.lease_number);
  write_uvarint(p, iv.counter);  // ends exactly at out[prefix]

  auto ciphertext = out.subspan(prefix, plaintext.size());
  auto tag = out.subspan(prefix + plaintext.size()).first<kGcmTagBytes>();
  const uint8_t version_byte[1] = {format_version};
  Status status =
      prefix < kContiguousAadBytes
          ? encryptor.encrypt(iv.to_iv(),
                              {contiguous_aad(format_version, out.first(prefix), aad_buf)},
                              plaintext, ciphertext, tag)
          : encryptor.encrypt(iv.to_iv(), {version_byte, out.first(prefix)}, plaintext, ciphertext,
                              tag);
  if (!status.ok()) {
    return status.error();
  }
  return total;
}

Result<uint8_t> parse_cipher_header_value(std::span<const uint8_t> header_value) {
  if (header_value.size() != 1) {
    return make_error(ErrorCode::kInvalidArgument, "cipher record header value must be one byte");
  }
  if (!is_supported_cipher_format(header_value[0])) {
    return make_error(ErrorCode::kUnsupported, "unsupported cipher record format version " +
                                                   std::to_string(header_value[0]));
  }
  return header_value[0];
}

Result<CipherRecordView> parse_cipher_record(std::span<const uint8_t> header_value,
                                             std::span<const uint8_t> value) {
  auto version = parse_cipher_header_value(header_value);
  if (!version.ok()) {
    return version.error();
  }

  CipherRecordView record;
  record.format_version = *version;
  size_t pos = 0;

  uint64_t edek_len = 0;
  size_t used = read_uvarint(value, edek_len, kMaxVarint32Bytes);
  if (used == 0) {
    return make_error(ErrorCode::kInvalidArgument, "cipher record: bad EDEK length");
  }
  pos += used;
  if (edek_len == 0 || edek_len > kMaxEdekBytes) {
    return make_error(ErrorCode::kInvalidArgument, "cipher record: EDEK length out of range");
  }
  if (edek_len > value.size() - pos) {
    return make_error(ErrorCode::kOutOfRange, "cipher record: truncated in the EDEK");
  }
  record.edek = value.subspan(pos, static_cast<size_t>(edek_len));
  pos += static_cast<size_t>(edek_len);
  auto fields = parse_edek_view(record.edek);
  if (!fields.ok()) {
    return fields.error();
  }
  record.edek_fields = *fields;

  uint64_t lease = 0;
  used = read_uvarint(value.subspan(pos), lease, kMaxVarint32Bytes);
  if (used == 0 || lease > UINT32_MAX) {
    return make_error(ErrorCode::kInvalidArgument, "cipher record: bad lease number");
  }
  pos += used;
  uint64_t counter = 0;
  used = read_uvarint(value.subspan(pos), counter, kMaxVarint64Bytes);
  if (used == 0) {
    return make_error(ErrorCode::kInvalidArgument, "cipher record: bad IV counter");
  }
  pos += used;
  record.iv = IvFields{static_cast<uint32_t>(lease), counter};

  if (value.size() - pos < kGcmTagBytes) {
    return make_error(ErrorCode::kOutOfRange, "cipher record: truncated before the tag");
  }
  record.authenticated_prefix = value.first(pos);
  record.ciphertext = value.subspan(pos, value.size() - pos - kGcmTagBytes);
  record.tag = value.last(kGcmTagBytes);
  return record;
}

Status decrypt_cipher_record(AesGcmDecryptor& decryptor, const CipherRecordView& record,
                             std::span<uint8_t> plaintext) {
  if (record.tag.size() != kGcmTagBytes || !is_supported_cipher_format(record.format_version)) {
    return make_error(ErrorCode::kInvalidArgument, "not a parsed cipher record");
  }
  if (record.authenticated_prefix.size() < kContiguousAadBytes) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): filled before use
    std::array<uint8_t, kContiguousAadBytes> aad_buf;
    return decryptor.decrypt(
        record.iv.to_iv(),
        {contiguous_aad(record.format_version, record.authenticated_prefix, aad_buf)},
        record.ciphertext, record.tag.first<kGcmTagBytes>(), plaintext);
  }
  const uint8_t version_byte[1] = {record.format_version};
  return decryptor.decrypt(record.iv.to_iv(), {version_byte, record.authenticated_prefix},
                           record.ciphertext, record.tag.first<kGcmTagBytes>(), plaintext);
}

size_t headers_and_value_size(std::span<const uint8_t> encoded_headers,
                              std::span<const uint8_t> value) {
  return uvarint_size(encoded_headers.size()) + encoded_headers.size() + value.size();
}

void append_headers_and_value(std::span<const uint8_t> encoded_headers,
                              std::span<const uint8_t> value, std::vector<uint8_t>& out) {
  append_uvarint(out, encoded_headers.size());
  out.insert(out.end(), encoded_headers.begin(), encoded_headers.end());
  out.insert(out.end(), value.begin(), value.end());
}

Result<HeadersAndValue> split_headers_and_value(std::span<const uint8_t> plaintext) {
  uint64_t length = 0;
  size_t used = read_uvarint(plaintext, length, kMaxVarint32Bytes);
  if (used == 0 || length > plaintext.size() - used) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cipher record v2: bad length of the encrypted headers");
  }
  HeadersAndValue out;
  out.encoded_headers = plaintext.subspan(used, static_cast<size_t>(length));
  out.value = plaintext.subspan(used + static_cast<size_t>(length));
  return out;
}

}  // namespace kenc::crypto
