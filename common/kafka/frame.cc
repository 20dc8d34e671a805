#include "common/kafka/frame.h"

#include <string>

namespace kenc::kafka {
namespace {

int32_t read_be32(const uint8_t* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}

int16_t read_be16(const uint8_t* p) {
  return static_cast<int16_t>((uint16_t{p[0]} << 8) | uint16_t{p[1]});
}

}  // namespace

Result<int32_t> parse_frame_size(std::span<const uint8_t, kFrameSizeBytes> prefix,
                                 int32_t max_frame_bytes) {
  int32_t size = read_be32(prefix.data());
  if (size < 0) {
    return make_error(ErrorCode::kInvalidArgument, "negative frame size " + std::to_string(size));
  }
  if (size > max_frame_bytes) {
    return make_error(ErrorCode::kOutOfRange, "frame of " + std::to_string(size) +
                                                  " bytes exceeds the maximum of " +
                                                  std::to_string(max_frame_bytes));
  }
  return size;
}

Result<RequestHeaderPrefix> peek_request_header(std::span<const uint8_t> payload) {
  if (payload.size() < kRequestHeaderPrefixBytes) {
    return make_error(ErrorCode::kOutOfRange, "request frame of " + std::to_string(payload.size()) +
                                                  " bytes is shorter than a request header");
  }
  return RequestHeaderPrefix{read_be16(payload.data()), read_be16(payload.data() + 2),
                             read_be32(payload.data() + 4)};
}

Result<int32_t> peek_response_correlation_id(std::span<const uint8_t> payload) {
  if (payload.size() < 4) {
    return make_error(ErrorCode::kOutOfRange, "response frame shorter than a correlation id");
  }
  return read_be32(payload.data());
}

}  // namespace kenc::kafka
