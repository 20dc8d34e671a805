#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/base/shared_bytes.h"
#include "common/kafka/protocol/types.h"

namespace kenc::kafka {

// Bounds-checked reader of Kafka's wire types over a shared frame buffer.
//
// Errors are sticky: the first failure (truncated input, a length or count larger than the bytes
// left, a null where none is allowed) is recorded, every later read returns a zero value and
// consumes nothing, and `status()` reports the first error. This keeps generated decoders small
// (no check after every field) while guaranteeing that nothing is read past the end and nothing
// is allocated from an unchecked length. `records` fields are returned as slices of the buffer.
class Reader {
 public:
  explicit Reader(SharedBytes buffer) : buffer_(std::move(buffer)) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return ok() ? buffer_.size() - pos_ : 0; }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // Records the first error; later reads do nothing.
  void fail(ErrorCode code, const std::string& message);

  int8_t read_int8();
  int16_t read_int16();
  int32_t read_int32();
  int64_t read_int64();
  uint16_t read_uint16();
  uint32_t read_uint32();
  double read_float64();
  bool read_bool() { return read_int8() != 0; }
  Uuid read_uuid();
  uint32_t read_uvarint32();
  int32_t read_varint32();
  int64_t read_varlong();

  // Strings: int16 length (-1 = null), or compact: uvarint length+1 (0 = null). A null read where
  // `nullable` is false is an error.
  void read_string(std::string& out, bool compact);
  void read_nullable_string(std::optional<std::string>& out, bool compact, bool nullable);
  // Bytes: int32 length (-1 = null), or compact: uvarint length+1 (0 = null).
  void read_bytes(std::vector<uint8_t>& out, bool compact);
  void read_nullable_bytes(std::optional<std::vector<uint8_t>>& out, bool compact, bool nullable);
  // Like bytes, but returned as a slice of the frame: no copy.
  void read_records(SharedBytes& out, bool compact);
  void read_nullable_records(std::optional<SharedBytes>& out, bool compact, bool nullable);

  // Array element count: int32 (-1 = null), or compact: uvarint count+1 (0 = null). The count is
  // checked against the bytes left, given the smallest possible element (`min_element_bytes`,
  // at least 1 is assumed), so callers may allocate `count` elements. Returns -1 for an accepted
  // null and 0 after an error.
  int32_t read_array_length(bool compact, bool nullable, size_t min_element_bytes);

  // A nullable struct's presence byte: -1 null, 1 present. Returns false for null.
  bool read_struct_presence(bool nullable);

  // One entry of a tagged-field section: its tag and a reader limited to its value. The caller
  // decodes a known tag from `body` and then calls `finish_tagged_field(body)`, or keeps an
  // unknown one with `raw_tagged_field(body)`.
  struct TaggedField {
    uint32_t tag = 0;
    size_t offset = 0;  // of the value in this reader's buffer
    size_t size = 0;
  };
  TaggedField read_tagged_field_header();
  Reader tagged_field_body(const TaggedField& field) const;
  // Propagates an error of `body`, or reports unconsumed bytes in a known tagged field.
  void finish_tagged_field(const Reader& body, const char* field_name);
  RawTaggedField raw_tagged_field(const TaggedField& field) const;
  // The tagged-field section of a struct without known tagged fields: every entry is kept raw.
  // Without `flexible` there is no section and `out` is cleared.
  void read_unknown_tagged_fields(RawTaggedFields& out, bool flexible);

 private:
  // Returns a pointer to `n` readable bytes and advances, or nullptr (and fails) if fewer are left.
  const uint8_t* take(size_t n, const char* what);
  void fail_varint(size_t max_bytes);
  // Reads a length prefix: int16/int32 or compact uvarint. Returns -1 for null, -2 after an error.
  int64_t read_length(bool compact, bool wide, const char* what);

  SharedBytes buffer_;
  size_t pos_ = 0;
  Status status_;
};

}  // namespace kenc::kafka
