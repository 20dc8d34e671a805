#include "common/kafka/protocol/writer.h"

#include <bit>
#include <limits>

#include "common/base/varint.h"

namespace kenc::kafka {

void Writer::fail(ErrorCode code, std::string message) {
  if (status_.ok()) {
    status_ = make_error(code, std::move(message));
  }
}

void Writer::fail_unsupported(const char* field_name, int16_t version) {
  fail(ErrorCode::kUnsupported, std::string("field ") + field_name +
                                    " has a non-default value but does not exist in version " +
                                    std::to_string(version));
}

void Writer::put_be(uint64_t v, size_t n) {
  if (!ok()) {
    return;
  }
  if (counting_) {
    counted_ += n;
    return;
  }
  for (size_t i = n; i > 0; --i) {
    out_.push_back(static_cast<uint8_t>(v >> (8 * (i - 1))));
  }
}

void Writer::write_float64(double v) { put_be(std::bit_cast<uint64_t>(v), 8); }

void Writer::write_uvarint32(uint32_t v) {
  if (!ok()) {
    return;
  }
  if (counting_) {
    counted_ += uvarint_size(v);
  } else {
    append_uvarint(out_, v);
  }
}

void Writer::write_varint32(int32_t v) { write_uvarint32(static_cast<uint32_t>(zigzag_encode(v))); }

void Writer::write_varlong(int64_t v) {
  if (!ok()) {
    return;
  }
  uint64_t z = zigzag_encode(v);
  if (counting_) {
    counted_ += uvarint_size(z);
  } else {
    append_uvarint(out_, z);
  }
}

void Writer::write_raw(std::span<const uint8_t> bytes) {
  if (!ok()) {
    return;
  }
  if (counting_) {
    counted_ += bytes.size();
  } else {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }
}

void Writer::write_string(const std::string& v, bool compact) {
  if (compact) {
    if (v.size() >= std::numeric_limits<uint32_t>::max()) {
      fail(ErrorCode::kInvalidArgument, "string too long");
      return;
    }
    write_uvarint32(static_cast<uint32_t>(v.size() + 1));
  } else {
    if (v.size() > static_cast<size_t>(std::numeric_limits<int16_t>::max())) {
      fail(ErrorCode::kInvalidArgument,
           "string of " + std::to_string(v.size()) + " bytes is too long for an int16 length");
      return;
    }
    write_int16(static_cast<int16_t>(v.size()));
  }
  write_raw({reinterpret_cast<const uint8_t*>(v.data()), v.size()});
}

void Writer::write_nullable_string(const std::optional<std::string>& v, bool compact,
                                   bool nullable) {
  if (v) {
    write_string(*v, compact);
  } else if (!nullable) {
    fail(ErrorCode::kInvalidArgument, "null string in a version where it is not nullable");
  } else if (compact) {
    write_uvarint32(0);
  } else {
    write_int16(-1);
  }
}

void Writer::write_bytes(std::span<const uint8_t> v, bool compact) {
  if (v.size() >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    fail(ErrorCode::kInvalidArgument, "byte field too long");
    return;
  }
  if (compact) {
    write_uvarint32(static_cast<uint32_t>(v.size() + 1));
  } else {
    write_int32(static_cast<int32_t>(v.size()));
  }
  write_raw(v);
}

void Writer::write_nullable_bytes(const std::optional<std::vector<uint8_t>>& v, bool compact,
                                  bool nullable) {
  if (v) {
    write_bytes(*v, compact);
  } else if (!nullable) {
    fail(ErrorCode::kInvalidArgument, "null bytes in a version where they are not nullable");
  } else if (compact) {
    write_uvarint32(0);
  } else {
    write_int32(-1);
  }
}

void Writer::write_nullable_records(const std::optional<SharedBytes>& v, bool compact,
                                    bool nullable) {
  if (v) {
    write_bytes(v->view(), compact);
  } else if (!nullable) {
    fail(ErrorCode::kInvalidArgument, "null records in a version where they are not nullable");
  } else if (compact) {
    write_uvarint32(0);
  } else {
    write_int32(-1);
  }
}

void Writer::write_array_length(size_t count, bool compact) {
  if (count >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    fail(ErrorCode::kInvalidArgument, "array too long");
    return;
  }
  if (compact) {
    write_uvarint32(static_cast<uint32_t>(count + 1));
  } else {
    write_int32(static_cast<int32_t>(count));
  }
}

void Writer::write_null_array(bool compact, bool nullable) {
  if (!nullable) {
    fail(ErrorCode::kInvalidArgument, "null array in a version where it is not nullable");
  } else if (compact) {
    write_uvarint32(0);
  } else {
    write_int32(-1);
  }
}

void Writer::write_struct_presence(bool present, bool nullable) {
  if (!present && !nullable) {
    fail(ErrorCode::kInvalidArgument, "null struct in a version where it is not nullable");
    return;
  }
  write_int8(present ? 1 : -1);
}

size_t Writer::write_raw_tagged_fields(const RawTaggedFields& fields, size_t next,
                                       uint64_t below_tag) {
  while (next < fields.size() && fields[next].tag < below_tag) {
    write_uvarint32(fields[next].tag);
    write_uvarint32(static_cast<uint32_t>(fields[next].data.size()));
    write_raw(fields[next].data);
    ++next;
  }
  return next;
}

void Writer::write_unknown_tagged_fields(const RawTaggedFields& fields, bool flexible) {
  if (!flexible) {
    if (!fields.empty()) {
      fail(ErrorCode::kUnsupported, "tagged fields need a flexible version");
    }
    return;
  }
  write_uvarint32(static_cast<uint32_t>(fields.size()));
  write_raw_tagged_fields(fields, 0, ~uint64_t{0});
}

}  // namespace kenc::kafka
