#pragma once

#include <cstdint>
#include <span>

#include "common/base/result.h"

namespace kenc::kafka {

// Every Kafka request and response travels as a frame: a big-endian int32 size, then that many
// bytes. The size is checked against a configured maximum before any buffer is allocated.
inline constexpr size_t kFrameSizeBytes = 4;
inline constexpr int32_t kDefaultMaxFrameBytes = 100 * 1024 * 1024;

// Reads the size prefix. Errors: a negative size, or one above `max_frame_bytes`.
Result<int32_t> parse_frame_size(std::span<const uint8_t, kFrameSizeBytes> prefix,
                                 int32_t max_frame_bytes);

// The fixed start of every request header (all versions): enough to route a request and match
// its response without decoding anything else.
struct RequestHeaderPrefix {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
};
inline constexpr size_t kRequestHeaderPrefixBytes = 8;

// `payload` is a request frame without its size prefix.
Result<RequestHeaderPrefix> peek_request_header(std::span<const uint8_t> payload);

// `payload` is a response frame without its size prefix; every response starts with the
// correlation id of its request.
Result<int32_t> peek_response_correlation_id(std::span<const uint8_t> payload);

}  // namespace kenc::kafka
