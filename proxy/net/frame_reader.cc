#include "proxy/net/frame_reader.h"

#include <algorithm>
#include <cstring>

namespace kenc::proxy {

Frame make_frame(std::span<const uint8_t> payload) {
  Frame frame;
  frame.bytes.resize(kafka::kFrameSizeBytes + payload.size());
  const auto size = static_cast<uint32_t>(payload.size());
  frame.bytes[0] = static_cast<uint8_t>(size >> 24);
  frame.bytes[1] = static_cast<uint8_t>(size >> 16);
  frame.bytes[2] = static_cast<uint8_t>(size >> 8);
  frame.bytes[3] = static_cast<uint8_t>(size);
  if (!payload.empty()) {
    std::memcpy(frame.bytes.data() + kafka::kFrameSizeBytes, payload.data(), payload.size());
  }
  return frame;
}

Result<size_t> FrameReader::consume(std::span<const uint8_t> input) {
  if (error_) {
    return *error_;
  }
  size_t used = 0;
  while (!complete_ && used < input.size()) {
    if (prefix_filled_ < kafka::kFrameSizeBytes) {
      const size_t n = std::min(kafka::kFrameSizeBytes - prefix_filled_, input.size() - used);
      std::memcpy(prefix_ + prefix_filled_, input.data() + used, n);
      prefix_filled_ += n;
      used += n;
      if (prefix_filled_ < kafka::kFrameSizeBytes) {
        break;
      }
      auto size = kafka::parse_frame_size(std::span<const uint8_t, kafka::kFrameSizeBytes>(prefix_),
                                          max_frame_bytes_);
      if (!size.ok()) {
        error_ = size.error();
        return *error_;
      }
      current_.bytes.resize(kafka::kFrameSizeBytes + static_cast<size_t>(*size));
      std::memcpy(current_.bytes.data(), prefix_, kafka::kFrameSizeBytes);
      filled_ = kafka::kFrameSizeBytes;
    }
    const size_t n = std::min(current_.bytes.size() - filled_, input.size() - used);
    if (n > 0) {
      std::memcpy(current_.bytes.data() + filled_, input.data() + used, n);
    }
    filled_ += n;
    used += n;
    complete_ = filled_ == current_.bytes.size();
  }
  return used;
}

std::span<uint8_t> FrameReader::unfilled() {
  if (prefix_filled_ < kafka::kFrameSizeBytes || complete_ || error_) {
    return {};
  }
  return std::span<uint8_t>(current_.bytes).subspan(filled_);
}

void FrameReader::filled(size_t n) {
  filled_ += std::min(n, current_.bytes.size() - filled_);
  complete_ = filled_ == current_.bytes.size();
}

std::optional<Frame> FrameReader::take() {
  if (!complete_) {
    return std::nullopt;
  }
  Frame out = std::move(current_);
  current_ = Frame{};
  filled_ = 0;
  prefix_filled_ = 0;
  complete_ = false;
  return out;
}

}  // namespace kenc::proxy
