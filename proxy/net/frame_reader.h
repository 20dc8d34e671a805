#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/base/byte_buffer.h"
#include "common/base/result.h"
#include "common/kafka/frame.h"

namespace kenc::proxy {

// One Kafka frame as it travelled on the wire: the 4-byte size prefix followed by the payload.
// Keeping the prefix lets the proxy forward an unfiltered frame as its original bytes.
struct Frame {
  ByteBuffer bytes;  // not zeroed when grown: the reader writes every byte it adds

  std::span<const uint8_t> payload() const {
    return std::span<const uint8_t>(bytes).subspan(kafka::kFrameSizeBytes);
  }
};

// Builds a frame (size prefix + payload) from a payload.
Frame make_frame(std::span<const uint8_t> payload);

// Cuts a byte stream into frames. Bytes arrive in arbitrary pieces (one byte at a time, or
// several frames in one read); a partial frame is kept until the rest arrives. The size prefix
// is checked against the maximum, and the frame's buffer grows with the bytes received (never
// beyond the declared size), so a hostile size costs nothing until its bytes are actually sent.
class FrameReader {
 public:
  // How a frame's buffer is sized once its size prefix is read.
  enum class Sizing {
    // Grow with the bytes that arrive (doubling, never beyond the declared size): a peer that
    // announces a huge frame and sends nothing costs nothing. For clients.
    kGrowWithArrivals,
    // Reserve the declared size at once: one allocation and no copying of a large frame as it
    // arrives. For the broker side, whose responses are as large as they say.
    kDeclaredSize,
  };
  explicit FrameReader(int32_t max_frame_bytes, Sizing sizing = Sizing::kGrowWithArrivals)
      : max_frame_bytes_(max_frame_bytes), sizing_(sizing) {}

  // Consumes bytes from `input` until one frame is complete or `input` is used up. Returns
  // the number of bytes consumed; after that `take()` yields the frame if one completed.
  // An error (bad size prefix) is sticky: the stream cannot be resynchronised.
  Result<size_t> consume(std::span<const uint8_t> input);

  // The completed frame, if any; the reader then starts the next one.
  std::optional<Frame> take();

  // Memory held for the frame being read: grows with the bytes received, whatever was declared.
  size_t held_bytes() const { return current_.bytes.capacity(); }

  // True while part of a frame has been read but not all of it.
  bool mid_frame() const { return prefix_filled_ > 0 && !complete_; }

  // Once a frame's size is known and until it is complete: room in its buffer for the next bytes
  // (at most twice what has arrived plus 64 KiB, never beyond the declared size), so the caller
  // can read a large frame from the socket straight into place instead of through its read
  // buffer (one copy of every byte fewer). Empty otherwise.
  std::span<uint8_t> unfilled();
  // Records that the first `n` bytes of unfilled() were written.
  void filled(size_t n);

 private:
  // Makes current_.bytes at least `size` long (the new bytes unwritten), growing its capacity by
  // doubling up to the declared frame size.
  void grow_to(size_t size);

  int32_t max_frame_bytes_;
  Sizing sizing_;
  uint8_t prefix_[kafka::kFrameSizeBytes] = {};
  size_t prefix_filled_ = 0;  // 0..4; 4 means `current_` is sized and being filled
  static constexpr size_t kInitialFrameCapacity = size_t{64} * 1024;
  Frame current_;
  size_t expected_ = 0;  // prefix + declared payload size of the frame being read
  size_t filled_ = 0;    // bytes of `current_.bytes` written so far
  bool complete_ = false;
  std::optional<Error> error_;
};

}  // namespace kenc::proxy
