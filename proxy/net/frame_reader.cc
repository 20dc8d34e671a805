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
      // From a client, the buffer grows with the bytes that actually arrive, never straight to
      // the declared size: a client that announces max_frame_bytes and sends nothing more must
      // not cost max_frame_bytes of memory (1,000 such connections would otherwise exhaust the
      // host).
      expected_ = kafka::kFrameSizeBytes + static_cast<size_t>(*size);
      current_.bytes.clear();
      current_.bytes.reserve(sizing_ == Sizing::kDeclaredSize
                                 ? expected_
                                 : std::min(expected_, kInitialFrameCapacity));
      current_.bytes.insert(current_.bytes.end(), prefix_, prefix_ + kafka::kFrameSizeBytes);
      filled_ = kafka::kFrameSizeBytes;
    }
    const size_t n = std::min(expected_ - filled_, input.size() - used);
    if (n > 0) {
      grow_to(filled_ + n);
      std::memcpy(current_.bytes.data() + filled_, input.data() + used, n);
    }
    filled_ += n;
    used += n;
    complete_ = filled_ == expected_;
  }
  return used;
}

void FrameReader::grow_to(size_t size) {
  if (size <= current_.bytes.size()) {
    return;
  }
  if (size > current_.bytes.capacity()) {
    // Doubling keeps the copying linear; the cap keeps the buffer within the declared size.
    current_.bytes.reserve(std::min(expected_, std::max(size, 2 * current_.bytes.capacity())));
  }
  current_.bytes.resize(size);
}

std::span<uint8_t> FrameReader::unfilled() {
  if (prefix_filled_ < kafka::kFrameSizeBytes || complete_ || error_) {
    return {};
  }
  // Room for the next bytes in place, grown like consume() grows it: at most twice what has
  // arrived (plus the initial capacity), never beyond the declared size.
  grow_to(std::min(expected_, std::max(filled_ + kInitialFrameCapacity, 2 * filled_)));
  return std::span<uint8_t>(current_.bytes).subspan(filled_);
}

void FrameReader::filled(size_t n) {
  filled_ += std::min(n, current_.bytes.size() - filled_);
  complete_ = filled_ == expected_;
}

std::optional<Frame> FrameReader::take() {
  if (!complete_) {
    return std::nullopt;
  }
  Frame out = std::move(current_);
  out.bytes.resize(filled_);  // unfilled() may have grown it past the bytes written
  current_ = Frame{};
  filled_ = 0;
  expected_ = 0;
  prefix_filled_ = 0;
  complete_ = false;
  return out;
}

}  // namespace kenc::proxy
