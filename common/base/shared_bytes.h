#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/base/byte_buffer.h"

namespace kenc {

// A read-only slice of a shared buffer. Decoded messages point into the frame they came from
// (for example a Produce request's `records`) instead of copying: the slice keeps the frame
// alive. Copying a SharedBytes copies a pointer, never the bytes.
class SharedBytes {
 public:
  SharedBytes() = default;
  explicit SharedBytes(std::vector<uint8_t> bytes) { own(std::move(bytes)); }
  explicit SharedBytes(ByteBuffer bytes) { own(std::move(bytes)); }
  // A view into memory that `owner` keeps alive (any buffer type).
  SharedBytes(std::shared_ptr<const void> owner, std::span<const uint8_t> view)
      : owner_(std::move(owner)), view_(view) {}

  // A sub-slice sharing the same owner. `offset + length` must lie within this slice.
  SharedBytes slice(size_t offset, size_t length) const {
    return SharedBytes(owner_, view_.subspan(offset, length));
  }

  std::span<const uint8_t> view() const { return view_; }
  const uint8_t* data() const { return view_.data(); }
  size_t size() const { return view_.size(); }
  bool empty() const { return view_.empty(); }

  // Equal bytes, wherever they live.
  friend bool operator==(const SharedBytes& a, const SharedBytes& b) {
    return std::ranges::equal(a.view_, b.view_);
  }

 private:
  template <typename Buffer>
  void own(Buffer bytes) {
    auto owner = std::make_shared<const Buffer>(std::move(bytes));
    view_ = std::span<const uint8_t>(owner->data(), owner->size());
    owner_ = std::move(owner);
  }

  std::shared_ptr<const void> owner_;
  std::span<const uint8_t> view_;
};

}  // namespace kenc
