#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/kafka/records/record.h"

namespace kenc::record_encryption {

// The `kenc` record header marks a cipher record (its value is the format version byte, see
// common/crypto/cipher_record.h). These helpers add it on produce and take it away on fetch,
// writing a record's encoded headers (count varint, then each header) without allocating.

// Finds the `kenc` header of a record. Returns false when there is none; true with its value
// (possibly null) otherwise. A record carrying it more than once is reported through `duplicate`.
bool find_cipher_header(const kafka::records::RecordView& record,
                        kafka::records::NullableBytes& value, bool& duplicate);

// Appends the record's headers plus `kenc` = `format_version` (last) to `out`.
void append_headers_with_cipher_header(const kafka::records::RecordView& record,
                                       uint8_t format_version, std::vector<uint8_t>& out);

// Appends a header list holding only `kenc` = `format_version` (version 2 records: the other
// headers are inside the ciphertext).
void append_only_cipher_header(uint8_t format_version, std::vector<uint8_t>& out);

// Appends the record's headers without its `kenc` header to `out`.
void append_headers_without_cipher_header(const kafka::records::RecordView& record,
                                          std::vector<uint8_t>& out);

}  // namespace kenc::record_encryption
