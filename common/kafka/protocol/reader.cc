#include "common/kafka/protocol/reader.h"

#include <bit>
#include <cstring>
#include <limits>

#include "common/base/varint.h"

namespace kenc::kafka {
namespace {

uint64_t load_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    v = (v << 8) | p[i];
  }
  return v;
}

}  // namespace

void Reader::fail(ErrorCode code, const std::string& message) {
  if (status_.ok()) {
    status_ = make_error(code, message + " (at byte " + std::to_string(pos_) + ")");
  }
}

const uint8_t* Reader::take(size_t n, const char* what) {
  if (!ok()) {
    return nullptr;
  }
  if (n > buffer_.size() - pos_) {
    fail(ErrorCode::kOutOfRange, std::string(what) + " needs " + std::to_string(n) +
                                     " bytes but only " + std::to_string(buffer_.size() - pos_) +
                                     " are left");
    return nullptr;
  }
  const uint8_t* p = buffer_.data() + pos_;
  pos_ += n;
  return p;
}

void Reader::fail_varint(size_t max_bytes) {
  // No terminating byte: truncated input if the varint could still end later, else too long.
  if (buffer_.size() - pos_ < max_bytes) {
    fail(ErrorCode::kOutOfRange, "truncated varint");
  } else {
    fail(ErrorCode::kInvalidArgument, "varint longer than " + std::to_string(max_bytes) + " bytes");
  }
}

int8_t Reader::read_int8() {
  const uint8_t* p = take(1, "int8");
  return p ? static_cast<int8_t>(p[0]) : int8_t{0};
}

int16_t Reader::read_int16() {
  const uint8_t* p = take(2, "int16");
  return p ? static_cast<int16_t>(load_be(p, 2)) : int16_t{0};
}

int32_t Reader::read_int32() {
  const uint8_t* p = take(4, "int32");
  return p ? static_cast<int32_t>(load_be(p, 4)) : 0;
}

int64_t Reader::read_int64() {
  const uint8_t* p = take(8, "int64");
  return p ? static_cast<int64_t>(load_be(p, 8)) : 0;
}

uint16_t Reader::read_uint16() {
  const uint8_t* p = take(2, "uint16");
  return p ? static_cast<uint16_t>(load_be(p, 2)) : 0;
}

uint32_t Reader::read_uint32() {
  const uint8_t* p = take(4, "uint32");
  return p ? static_cast<uint32_t>(load_be(p, 4)) : 0;
}

double Reader::read_float64() {
  const uint8_t* p = take(8, "float64");
  return p ? std::bit_cast<double>(load_be(p, 8)) : 0.0;
}

Uuid Reader::read_uuid() {
  Uuid id{};
  if (const uint8_t* p = take(id.size(), "uuid")) {
    std::memcpy(id.data(), p, id.size());
  }
  return id;
}

uint32_t Reader::read_uvarint32() {
  if (!ok()) {
    return 0;
  }
  uint64_t value = 0;
  size_t n = read_uvarint(buffer_.view().subspan(pos_), value, kMaxVarint32Bytes);
  if (n == 0) {
    fail_varint(kMaxVarint32Bytes);
    return 0;
  }
  if (value > std::numeric_limits<uint32_t>::max()) {
    fail(ErrorCode::kInvalidArgument, "unsigned varint does not fit in 32 bits");
    return 0;
  }
  pos_ += n;
  return static_cast<uint32_t>(value);
}

int32_t Reader::read_varint32() { return static_cast<int32_t>(zigzag_decode(read_uvarint32())); }

int64_t Reader::read_varlong() {
  if (!ok()) {
    return 0;
  }
  uint64_t value = 0;
  size_t n = read_uvarint(buffer_.view().subspan(pos_), value, kMaxVarint64Bytes);
  if (n == 0) {
    fail_varint(kMaxVarint64Bytes);
    return 0;
  }
  pos_ += n;
  return zigzag_decode(value);
}

int64_t Reader::read_length(bool compact, bool wide, const char* what) {
  int64_t length = 0;
  if (compact) {
    length = int64_t{read_uvarint32()} - 1;
  } else {
    length = wide ? int64_t{read_int32()} : int64_t{read_int16()};
  }
  if (!ok()) {
    return -2;
  }
  if (length < -1) {
    fail(ErrorCode::kInvalidArgument, std::string("negative ") + what + " length");
    return -2;
  }
  if (length > static_cast<int64_t>(remaining())) {
    fail(ErrorCode::kOutOfRange, std::string(what) + " length " + std::to_string(length) +
                                     " exceeds the " + std::to_string(remaining()) + " bytes left");
    return -2;
  }
  return length;
}

void Reader::read_string(std::string& out, bool compact) {
  int64_t length = read_length(compact, false, "string");
  if (length == -1) {
    fail(ErrorCode::kInvalidArgument, "null string where none is allowed");
  }
  if (length < 0) {
    out.clear();
    return;
  }
  const uint8_t* p = take(static_cast<size_t>(length), "string");
  out.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(length));
}

void Reader::read_nullable_string(std::optional<std::string>& out, bool compact, bool nullable) {
  int64_t length = read_length(compact, false, "string");
  if (length == -1 && !nullable) {
    fail(ErrorCode::kInvalidArgument, "null string where none is allowed");
  }
  if (length < 0) {
    out.reset();
    return;
  }
  const uint8_t* p = take(static_cast<size_t>(length), "string");
  out.emplace(reinterpret_cast<const char*>(p), static_cast<size_t>(length));
}

void Reader::read_bytes(std::vector<uint8_t>& out, bool compact) {
  int64_t length = read_length(compact, true, "bytes");
  if (length == -1) {
    fail(ErrorCode::kInvalidArgument, "null bytes where none are allowed");
  }
  if (length < 0) {
    out.clear();
    return;
  }
  const uint8_t* p = take(static_cast<size_t>(length), "bytes");
  out.assign(p, p + length);
}

void Reader::read_nullable_bytes(std::optional<std::vector<uint8_t>>& out, bool compact,
                                 bool nullable) {
  int64_t length = read_length(compact, true, "bytes");
  if (length == -1 && !nullable) {
    fail(ErrorCode::kInvalidArgument, "null bytes where none are allowed");
  }
  if (length < 0) {
    out.reset();
    return;
  }
  const uint8_t* p = take(static_cast<size_t>(length), "bytes");
  out.emplace(p, p + length);
}

void Reader::read_records(SharedBytes& out, bool compact) {
  int64_t length = read_length(compact, true, "records");
  if (length == -1) {
    fail(ErrorCode::kInvalidArgument, "null records where none are allowed");
  }
  if (length < 0) {
    out = SharedBytes();
    return;
  }
  size_t start = pos_;
  take(static_cast<size_t>(length), "records");
  out = buffer_.slice(start, static_cast<size_t>(length));
}

void Reader::read_nullable_records(std::optional<SharedBytes>& out, bool compact, bool nullable) {
  int64_t length = read_length(compact, true, "records");
  if (length == -1 && !nullable) {
    fail(ErrorCode::kInvalidArgument, "null records where none are allowed");
  }
  if (length < 0) {
    out.reset();
    return;
  }
  size_t start = pos_;
  take(static_cast<size_t>(length), "records");
  out = buffer_.slice(start, static_cast<size_t>(length));
}

int32_t Reader::read_array_length(bool compact, bool nullable, size_t min_element_bytes) {
  int64_t count = 0;
  if (compact) {
    count = int64_t{read_uvarint32()} - 1;
  } else {
    count = read_int32();
  }
  if (!ok()) {
    return 0;
  }
  if (count == -1) {
    if (!nullable) {
      fail(ErrorCode::kInvalidArgument, "null array where none is allowed");
      return 0;
    }
    return -1;
  }
  if (count < 0) {
    fail(ErrorCode::kInvalidArgument, "negative array length " + std::to_string(count));
    return 0;
  }
  uint64_t min_bytes = static_cast<uint64_t>(count) * (min_element_bytes ? min_element_bytes : 1);
  if (min_bytes > remaining()) {
    fail(ErrorCode::kOutOfRange, "array of " + std::to_string(count) + " elements needs at least " +
                                     std::to_string(min_bytes) + " bytes but only " +
                                     std::to_string(remaining()) + " are left");
    return 0;
  }
  return static_cast<int32_t>(count);
}

bool Reader::read_struct_presence(bool nullable) {
  int8_t presence = read_int8();
  if (!ok()) {
    return false;
  }
  if (presence == -1) {
    if (!nullable) {
      fail(ErrorCode::kInvalidArgument, "null struct where none is allowed");
    }
    return false;
  }
  if (presence != 1) {
    fail(ErrorCode::kInvalidArgument, "invalid struct presence byte " + std::to_string(presence));
    return false;
  }
  return true;
}

Reader::TaggedField Reader::read_tagged_field_header() {
  TaggedField field;
  field.tag = read_uvarint32();
  uint32_t size = read_uvarint32();
  field.offset = pos_;
  if (take(size, "tagged field") != nullptr) {
    field.size = size;
  }
  return field;
}

Reader Reader::tagged_field_body(const TaggedField& field) const {
  return Reader(buffer_.slice(field.offset, field.size));
}

void Reader::finish_tagged_field(const Reader& body, const char* field_name) {
  if (!body.ok()) {
    fail(body.status().error().code,
         std::string("tagged field ") + field_name + ": " + body.status().error().message);
  } else if (body.remaining() != 0) {
    fail(ErrorCode::kInvalidArgument, std::string("tagged field ") + field_name + " has " +
                                          std::to_string(body.remaining()) + " unread bytes");
  }
}

RawTaggedField Reader::raw_tagged_field(const TaggedField& field) const {
  const uint8_t* p = buffer_.data() + field.offset;
  return RawTaggedField{field.tag, std::vector<uint8_t>(p, p + field.size)};
}

void Reader::read_unknown_tagged_fields(RawTaggedFields& out, bool flexible) {
  out.clear();
  if (!flexible) {
    return;
  }
  for (uint32_t count = read_uvarint32(); count > 0 && ok(); --count) {
    const TaggedField field = read_tagged_field_header();
    if (!ok()) {
      return;
    }
    out.push_back(raw_tagged_field(field));
  }
}

}  // namespace kenc::kafka
