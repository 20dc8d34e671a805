#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace kenc::kafka::records {

// A byte string that may be null (Kafka writes length -1). Points into a decoded buffer.
class NullableBytes {
 public:
  NullableBytes() = default;  // null
  explicit NullableBytes(std::span<const uint8_t> bytes)
      : data_(bytes.data()), size_(bytes.size()), null_(false) {}
  static NullableBytes null() { return NullableBytes(); }
  static NullableBytes of(std::string_view s) {
    return NullableBytes(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }

  bool is_null() const { return null_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  std::string_view as_string() const { return {reinterpret_cast<const char*>(data_), size_}; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool null_ = true;
};

// One record header: a non-null key and a nullable value.
struct HeaderView {
  std::span<const uint8_t> key;
  NullableBytes value;
  std::string_view key_string() const {
    return {reinterpret_cast<const char*>(key.data()), key.size()};
  }
};

// Walks the encoded headers of one record (the count varint, then each header). The headers were
// validated when the record was read, so next() cannot fail on a RecordView's headers.
class HeaderReader {
 public:
  explicit HeaderReader(std::span<const uint8_t> encoded_headers);
  // Fills `header` and returns true, or returns false after the last header (or on bad input).
  bool next(HeaderView& header);
  int32_t count() const { return count_; }
  // Bytes not read yet: a caller subtracts it from the encoded size to know where the next
  // header starts.
  size_t bytes_left() const { return rest_.size(); }

 private:
  std::span<const uint8_t> rest_;
  int32_t count_ = 0;
  int32_t seen_ = 0;
};

// One record inside a decompressed records section. All spans point into that section.
struct RecordView {
  int8_t attributes = 0;
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  NullableBytes key;
  NullableBytes value;
  int32_t header_count = 0;
  std::span<const uint8_t> encoded_headers;  // count varint + headers, to copy untouched
  std::span<const uint8_t> encoded;          // the whole record including its length varint

  HeaderReader headers() const { return HeaderReader(encoded_headers); }
};

// Iterates the records of a decompressed records section without allocating. Every length and
// count is checked against the bytes left. After next() returns false, status() tells whether the
// section ended cleanly with exactly `record_count` records.
class RecordReader {
 public:
  RecordReader(std::span<const uint8_t> section, int32_t record_count)
      : rest_(section), remaining_(record_count) {}

  bool next(RecordView& record);
  const Status& status() const { return status_; }

 private:
  bool fail(std::string message);

  std::span<const uint8_t> rest_;
  int32_t remaining_;
  Status status_;
};

// Pre-encoded-header input for the writer: key and nullable value.
struct HeaderInput {
  std::string_view key;
  NullableBytes value;
};

// Appends the count varint and the headers to `out`.
void append_headers(std::vector<uint8_t>& out, std::span<const HeaderInput> headers);

// Appends one record (length varint first) to `out`. `encoded_headers` holds the header count
// varint and the headers, as from append_headers() or RecordView::encoded_headers.
void append_record(std::vector<uint8_t>& out, int8_t attributes, int64_t timestamp_delta,
                   int32_t offset_delta, NullableBytes key, NullableBytes value,
                   std::span<const uint8_t> encoded_headers);

// Like append_record with a non-null value of `value_size` bytes that are left for the caller to
// write (e.g. a cipher writing its output in place); returns their offset in `out`.
size_t append_record_with_value_room(std::vector<uint8_t>& out, int8_t attributes,
                                     int64_t timestamp_delta, int32_t offset_delta,
                                     NullableBytes key, size_t value_size,
                                     std::span<const uint8_t> encoded_headers);

}  // namespace kenc::kafka::records
