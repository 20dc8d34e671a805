#include "common/kafka/records/record.h"

#include <cstring>
#include <optional>
#include <string>

#include "common/base/varint.h"

namespace kenc::kafka::records {
namespace {

// A cursor over a byte span whose reads all check the bytes left.
struct Cursor {
  std::span<const uint8_t> in;

  bool varint(int64_t& v, size_t max_bytes) {
    uint64_t raw = 0;
    size_t n = read_uvarint(in, raw, max_bytes);
    if (n == 0) {
      return false;
    }
    in = in.subspan(n);
    v = zigzag_decode(raw);
    return true;
  }
  bool varint32(int32_t& v) {
    int64_t wide = 0;
    if (!varint(wide, kMaxVarint32Bytes)) {
      return false;
    }
    if (wide < INT32_MIN || wide > INT32_MAX) {
      return false;
    }
    v = static_cast<int32_t>(wide);
    return true;
  }
  bool varint64(int64_t& v) { return varint(v, kMaxVarint64Bytes); }
  // A length-prefixed byte string; -1 is null when `nullable`.
  bool bytes(NullableBytes& out, bool nullable) {
    int32_t length = 0;
    if (!varint32(length)) {
      return false;
    }
    if (length == -1 && nullable) {
      out = NullableBytes::null();
      return true;
    }
    if (length < 0 || static_cast<size_t>(length) > in.size()) {
      return false;
    }
    out = NullableBytes(in.first(static_cast<size_t>(length)));
    in = in.subspan(static_cast<size_t>(length));
    return true;
  }
};

size_t zigzag_size(int64_t v) { return uvarint_size(zigzag_encode(v)); }
void append_varint(std::vector<uint8_t>& out, int64_t v) { append_uvarint(out, zigzag_encode(v)); }
void append_nullable(std::vector<uint8_t>& out, NullableBytes b) {
  if (b.is_null()) {
    append_varint(out, -1);
    return;
  }
  append_varint(out, static_cast<int64_t>(b.size()));
  out.insert(out.end(), b.bytes().begin(), b.bytes().end());
}
size_t nullable_size(NullableBytes b) {
  return b.is_null() ? 1 : zigzag_size(static_cast<int64_t>(b.size())) + b.size();
}

}  // namespace

HeaderReader::HeaderReader(std::span<const uint8_t> encoded_headers) : rest_(encoded_headers) {
  Cursor c{rest_};
  if (c.varint32(count_) && count_ >= 0) {
    rest_ = c.in;
  } else {
    count_ = 0;
    rest_ = {};
  }
}

bool HeaderReader::next(HeaderView& header) {
  if (seen_ >= count_) {
    return false;
  }
  Cursor c{rest_};
  NullableBytes key;
  if (!c.bytes(key, false) || !c.bytes(header.value, true)) {
    seen_ = count_;
    return false;
  }
  header.key = key.bytes();
  rest_ = c.in;
  ++seen_;
  return true;
}

bool RecordReader::fail(std::string message) {
  status_ = make_error(ErrorCode::kInvalidArgument, std::move(message));
  remaining_ = 0;
  rest_ = {};
  return false;
}

bool RecordReader::next(RecordView& record) {
  if (!status_.ok()) {
    return false;
  }
  if (remaining_ <= 0) {
    if (!rest_.empty()) {
      return fail(std::to_string(rest_.size()) + " bytes follow the last record of the batch");
    }
    return false;
  }
  Cursor c{rest_};
  int32_t length = 0;
  if (!c.varint32(length)) {
    return fail("bad record length varint");
  }
  if (length < 0 || static_cast<size_t>(length) > c.in.size()) {
    return fail("record length " + std::to_string(length) + " runs past the batch");
  }
  const size_t prefix = rest_.size() - c.in.size();
  record.encoded = rest_.first(prefix + static_cast<size_t>(length));
  Cursor r{c.in.first(static_cast<size_t>(length))};
  if (r.in.empty()) {
    return fail("empty record");
  }
  record.attributes = static_cast<int8_t>(r.in[0]);
  r.in = r.in.subspan(1);
  if (!r.varint64(record.timestamp_delta)) {
    return fail("bad record timestamp delta");
  }
  if (!r.varint32(record.offset_delta)) {
    return fail("bad record offset delta");
  }
  if (!r.bytes(record.key, true)) {
    return fail("bad record key");
  }
  if (!r.bytes(record.value, true)) {
    return fail("bad record value");
  }
  auto headers_start = r.in;
  if (!r.varint32(record.header_count) || record.header_count < 0) {
    return fail("bad record header count");
  }
  // Each header takes at least two bytes: never trust a count beyond that.
  if (static_cast<size_t>(record.header_count) > r.in.size() / 2) {
    return fail("record header count exceeds the record");
  }
  for (int32_t i = 0; i < record.header_count; ++i) {
    NullableBytes key, value;
    if (!r.bytes(key, false) || !r.bytes(value, true)) {
      return fail("bad record header");
    }
  }
  if (!r.in.empty()) {
    return fail("bytes follow the headers inside a record");
  }
  record.encoded_headers = headers_start;
  rest_ = rest_.subspan(record.encoded.size());
  --remaining_;
  return true;
}

void append_headers(std::vector<uint8_t>& out, std::span<const HeaderInput> headers) {
  append_varint(out, static_cast<int64_t>(headers.size()));
  for (const HeaderInput& h : headers) {
    append_nullable(out, NullableBytes::of(h.key));
    append_nullable(out, h.value);
  }
}

namespace {

// Appends a record whose value is null (`value_size` empty) or `*value_size` bytes left unwritten
// for the caller; returns the offset of those bytes in `out`. Sized once and written through a
// pointer: this runs for every record the filter rewrites, and byte-wise push_back (a capacity
// check per byte) was a visible share of it.
size_t append_record_frame(std::vector<uint8_t>& out, int8_t attributes, int64_t timestamp_delta,
                           int32_t offset_delta, NullableBytes key,
                           std::optional<size_t> value_size,
                           std::span<const uint8_t> encoded_headers) {
  const size_t value_field =
      value_size ? zigzag_size(static_cast<int64_t>(*value_size)) + *value_size : 1;
  const size_t body = 1 + zigzag_size(timestamp_delta) + zigzag_size(offset_delta) +
                      nullable_size(key) + value_field + encoded_headers.size();
  const uint64_t body_varint = zigzag_encode(static_cast<int64_t>(body));
  const size_t start = out.size();
  out.resize(start + uvarint_size(body_varint) + body);
  uint8_t* p = out.data() + start;
  p += write_uvarint(p, body_varint);
  *p++ = static_cast<uint8_t>(attributes);
  p += write_uvarint(p, zigzag_encode(timestamp_delta));
  p += write_uvarint(p, zigzag_encode(offset_delta));
  if (key.is_null()) {
    p += write_uvarint(p, zigzag_encode(-1));
  } else {
    p += write_uvarint(p, zigzag_encode(static_cast<int64_t>(key.size())));
    if (!key.bytes().empty()) {
      std::memcpy(p, key.bytes().data(), key.size());
      p += key.size();
    }
  }
  size_t value_at = static_cast<size_t>(p - out.data());
  if (value_size) {
    p += write_uvarint(p, zigzag_encode(static_cast<int64_t>(*value_size)));
    value_at = static_cast<size_t>(p - out.data());
    p += *value_size;
  } else {
    p += write_uvarint(p, zigzag_encode(-1));
  }
  if (!encoded_headers.empty()) {
    std::memcpy(p, encoded_headers.data(), encoded_headers.size());
  }
  return value_at;
}

}  // namespace

void append_record(std::vector<uint8_t>& out, int8_t attributes, int64_t timestamp_delta,
                   int32_t offset_delta, NullableBytes key, NullableBytes value,
                   std::span<const uint8_t> encoded_headers) {
  const std::optional<size_t> value_size =
      value.is_null() ? std::nullopt : std::optional<size_t>(value.size());
  const size_t value_at = append_record_frame(out, attributes, timestamp_delta, offset_delta, key,
                                              value_size, encoded_headers);
  if (value_size && *value_size > 0) {
    std::memcpy(out.data() + value_at, value.bytes().data(), *value_size);
  }
}

size_t append_record_with_value_room(std::vector<uint8_t>& out, int8_t attributes,
                                     int64_t timestamp_delta, int32_t offset_delta,
                                     NullableBytes key, size_t value_size,
                                     std::span<const uint8_t> encoded_headers) {
  return append_record_frame(out, attributes, timestamp_delta, offset_delta, key, value_size,
                             encoded_headers);
}

}  // namespace kenc::kafka::records
