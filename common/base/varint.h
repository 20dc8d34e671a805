#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace kenc {

// Unsigned LEB128 varints (Kafka's "unsigned varint") and zigzag-encoded signed varints
// (Kafka's "varint"/"varlong"). Decoders are bounds-checked and reject overlong encodings.

inline constexpr size_t kMaxVarint32Bytes = 5;
inline constexpr size_t kMaxVarint64Bytes = 10;

inline size_t uvarint_size(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

// Appends to any byte vector (std::vector<uint8_t>, ByteBuffer).
template <typename ByteVector>
inline void append_uvarint(ByteVector& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

// Writes at `out` (which must have room for uvarint_size(value) bytes); returns bytes written.
inline size_t write_uvarint(uint8_t* out, uint64_t value) {
  size_t n = 0;
  while (value >= 0x80) {
    out[n++] = static_cast<uint8_t>(value | 0x80);
    value >>= 7;
  }
  out[n++] = static_cast<uint8_t>(value);
  return n;
}

// Decodes an unsigned varint of at most `max_bytes` bytes from the front of `in`. Returns the
// number of bytes consumed, or 0 when the input is truncated or the varint is too long.
inline size_t read_uvarint(std::span<const uint8_t> in, uint64_t& value,
                           size_t max_bytes = kMaxVarint64Bytes) {
  uint64_t result = 0;
  size_t limit = in.size() < max_bytes ? in.size() : max_bytes;
  for (size_t i = 0; i < limit; ++i) {
    uint8_t byte = in[i];
    result |= uint64_t{byte & 0x7Fu} << (7 * i);
    if ((byte & 0x80) == 0) {
      value = result;
      return i + 1;
    }
  }
  return 0;
}

inline uint64_t zigzag_encode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t zigzag_decode(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

}  // namespace kenc
