#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/kafka/records/record.h"

namespace kenc::record_encryption {

// The `kenc` record header marks a cipher record (its value is the format version byte, see
// common/crypto/cipher_record.h). These helpers add it on produce and take it away on fetch,
// writing a record's encoded headers (count varint, then each header) without allocating.

// Where a record's `kenc` header is.
struct CipherHeader {
  bool found = false;
  bool duplicate = false;               // the record carries it more than once
  kafka::records::NullableBytes value;  // of the last one; may be null
  // The bytes of the last one inside RecordView::encoded_headers, [begin, end).
  size_t begin = 0;
  size_t end = 0;
};

// Finds the `kenc` header of a record in one pass over its headers.
CipherHeader find_cipher_header(const kafka::records::RecordView& record);

// Appends the record's headers plus `kenc` = `format_version` (last) to `out`.
void append_headers_with_cipher_header(const kafka::records::RecordView& record,
                                       uint8_t format_version, std::vector<uint8_t>& out);

// Appends a header list holding only `kenc` = `format_version` (version 2 records: the other
// headers are inside the ciphertext).
void append_only_cipher_header(uint8_t format_version, std::vector<uint8_t>& out);

// Appends the record's headers without its `kenc` header, `found` (exactly once) by
// find_cipher_header(record), to `out`: the count varint is rewritten and the bytes before and
// after the header are copied as they are, without parsing the headers again.
void append_headers_without_cipher_header(const kafka::records::RecordView& record,
                                          const CipherHeader& found, std::vector<uint8_t>& out);

}  // namespace kenc::record_encryption
