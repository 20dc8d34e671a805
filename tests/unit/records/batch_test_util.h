#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/kafka/records/record.h"

namespace kenc::kafka::records::testing {

// A record as plain values, for comparing what was written with what was read.
struct PlainRecord {
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  bool operator==(const PlainRecord&) const = default;
};

inline std::optional<std::string> to_optional(NullableBytes b) {
  if (b.is_null()) return std::nullopt;
  return std::string(b.as_string());
}
inline NullableBytes to_nullable(const std::optional<std::string>& s) {
  return s ? NullableBytes::of(*s) : NullableBytes::null();
}

inline PlainRecord to_plain(const RecordView& r) {
  PlainRecord p;
  p.timestamp_delta = r.timestamp_delta;
  p.offset_delta = r.offset_delta;
  p.key = to_optional(r.key);
  p.value = to_optional(r.value);
  HeaderReader headers = r.headers();
  HeaderView h;
  while (headers.next(h)) p.headers.emplace_back(std::string(h.key_string()), to_optional(h.value));
  return p;
}

}  // namespace kenc::kafka::records::testing
