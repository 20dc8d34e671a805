#include "proxy/filters/record_encryption/cipher_headers.h"

#include <algorithm>
#include <string_view>

#include "common/base/varint.h"
#include "common/crypto/cipher_record.h"

namespace kenc::record_encryption {
namespace {

using kafka::records::HeaderReader;
using kafka::records::HeaderView;
using kafka::records::NullableBytes;
using kafka::records::RecordView;

void append_varint(std::vector<uint8_t>& out, int64_t v) { append_uvarint(out, zigzag_encode(v)); }

void append_bytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  append_varint(out, static_cast<int64_t>(bytes.size()));
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void append_header(std::vector<uint8_t>& out, std::span<const uint8_t> key, NullableBytes value) {
  append_bytes(out, key);
  if (value.is_null()) {
    append_varint(out, -1);
  } else {
    append_bytes(out, value.bytes());
  }
}

bool is_cipher_header(const HeaderView& header) {
  return header.key_string() == crypto::kCipherHeaderKey;
}

std::span<const uint8_t> cipher_key() {
  return {reinterpret_cast<const uint8_t*>(crypto::kCipherHeaderKey.data()),
          crypto::kCipherHeaderKey.size()};
}

}  // namespace

CipherHeader find_cipher_header(const RecordView& record) {
  CipherHeader found;
  HeaderReader headers = record.headers();
  HeaderView header;
  size_t begin = record.encoded_headers.size() - headers.bytes_left();
  while (headers.next(header)) {
    const size_t end = record.encoded_headers.size() - headers.bytes_left();
    if (is_cipher_header(header)) {
      found.duplicate = found.found;
      found.found = true;
      found.value = header.value;
      found.begin = begin;
      found.end = end;
    }
    begin = end;
  }
  return found;
}

void append_headers_with_cipher_header(const RecordView& record, uint8_t format_version,
                                       std::vector<uint8_t>& out) {
  // The headers after the count varint are copied as they are; only the count changes.
  uint64_t zigzag_count = 0;
  size_t count_bytes = read_uvarint(record.encoded_headers, zigzag_count);
  append_varint(out, int64_t{record.header_count} + 1);
  auto rest = record.encoded_headers.subspan(count_bytes);
  out.insert(out.end(), rest.begin(), rest.end());
  const uint8_t version[1] = {format_version};
  append_header(out, cipher_key(), NullableBytes(std::span<const uint8_t>(version)));
}

void append_only_cipher_header(uint8_t format_version, std::vector<uint8_t>& out) {
  append_varint(out, 1);
  const uint8_t version[1] = {format_version};
  append_header(out, cipher_key(), NullableBytes(std::span<const uint8_t>(version)));
}

void append_headers_without_cipher_header(const RecordView& record, const CipherHeader& found,
                                          std::vector<uint8_t>& out) {
  uint64_t zigzag_count = 0;
  const size_t count_bytes = read_uvarint(record.encoded_headers, zigzag_count);
  append_varint(out, int64_t{record.header_count} - 1);
  const auto& encoded = record.encoded_headers;
  out.insert(out.end(), encoded.begin() + static_cast<ptrdiff_t>(count_bytes),
             encoded.begin() + static_cast<ptrdiff_t>(found.begin));
  out.insert(out.end(), encoded.begin() + static_cast<ptrdiff_t>(found.end), encoded.end());
}

}  // namespace kenc::record_encryption
