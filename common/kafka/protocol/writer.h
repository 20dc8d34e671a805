#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/base/byte_buffer.h"
#include "common/base/result.h"
#include "common/base/shared_bytes.h"
#include "common/kafka/protocol/types.h"

namespace kenc::kafka {

// Appends Kafka's wire types to a byte vector, or only counts them (`Writer::counting()`), so one
// generated `write` function serves both encoding and `encoded_size`.
//
// Errors are sticky like the Reader's: the first failure (a null where the version has none, a
// string too long for its length prefix, a field the version cannot carry) is kept in
// `status()`; later writes are ignored.
class Writer {
 public:
  Writer() = default;
  static Writer counting() {
    Writer w;
    w.counting_ = true;
    return w;
  }

  // Makes room for `bytes` more without reallocating (e.g. a message's encoded_size()).
  void reserve(size_t bytes) {
    if (!counting_) {
      out_.reserve(out_.size() + bytes);
    }
  }

  // Bytes written (or counted) so far.
  size_t size() const { return counting_ ? counted_ : out_.size(); }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  const ByteBuffer& bytes() const { return out_; }
  ByteBuffer take_bytes() { return std::move(out_); }

  void fail(ErrorCode code, std::string message);
  // The field cannot be carried by this version and holds a value other than its default.
  void fail_unsupported(const char* field_name, int16_t version);

  void write_int8(int8_t v) { put_be(static_cast<uint8_t>(v), 1); }
  void write_int16(int16_t v) { put_be(static_cast<uint16_t>(v), 2); }
  void write_int32(int32_t v) { put_be(static_cast<uint32_t>(v), 4); }
  void write_int64(int64_t v) { put_be(static_cast<uint64_t>(v), 8); }
  void write_uint16(uint16_t v) { put_be(v, 2); }
  void write_uint32(uint32_t v) { put_be(v, 4); }
  void write_float64(double v);
  void write_bool(bool v) { write_int8(v ? 1 : 0); }
  void write_uuid(const Uuid& v) { write_raw(v); }
  void write_uvarint32(uint32_t v);
  void write_varint32(int32_t v);
  void write_varlong(int64_t v);
  void write_raw(std::span<const uint8_t> bytes);

  void write_string(const std::string& v, bool compact);
  void write_nullable_string(const std::optional<std::string>& v, bool compact, bool nullable);
  void write_bytes(std::span<const uint8_t> v, bool compact);
  void write_nullable_bytes(const std::optional<std::vector<uint8_t>>& v, bool compact,
                            bool nullable);
  void write_records(const SharedBytes& v, bool compact) { write_bytes(v.view(), compact); }
  void write_nullable_records(const std::optional<SharedBytes>& v, bool compact, bool nullable);

  void write_array_length(size_t count, bool compact);
  // Null array (nullable must be true for the version, else fails).
  void write_null_array(bool compact, bool nullable);
  void write_struct_presence(bool present, bool nullable);

  // Writes unknown tagged fields from `fields[next]` on whose tag is below `below_tag`; returns the
  // index of the first one not written. Used to merge unknown and known tags in tag order.
  size_t write_raw_tagged_fields(const RawTaggedFields& fields, size_t next, uint64_t below_tag);

  // The tagged-field section of a struct without known tagged fields. Without `flexible` the
  // version has no section, so any field is an error.
  void write_unknown_tagged_fields(const RawTaggedFields& fields, bool flexible);

  // Writes one known tagged field: its tag, its size, then the value written by `put(Writer&)`.
  template <typename Put>
  void write_tagged_field(uint32_t tag, const Put& put) {
    Writer sizer = counting();
    put(sizer);
    if (!sizer.ok()) {
      fail(sizer.status().error().code, sizer.status().error().message);
      return;
    }
    write_uvarint32(tag);
    write_uvarint32(static_cast<uint32_t>(sizer.size()));
    put(*this);
  }

 private:
  void put_be(uint64_t v, size_t n);

  ByteBuffer out_;  // becomes a frame's bytes without a copy
  size_t counted_ = 0;
  bool counting_ = false;
  Status status_;
};

}  // namespace kenc::kafka
