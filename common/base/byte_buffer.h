#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <new>
#include <span>
#include <utility>
#include <vector>

namespace kenc {

// A growable byte buffer like std::vector<uint8_t>, except that growing it does not write the
// new bytes: resize() leaves them as they are, for whoever fills them next (a socket read, an
// encoder). std::vector<uint8_t>::resize zero-fills what it adds, which for a frame about to be
// read from a socket is one more pass over every byte (a 6 MiB Fetch response zeroed, then read
// over). A custom allocator on std::vector cannot do this cheaply: libstdc++ then copies element
// by element instead of with memcpy whenever the vector grows. Copies and moves here are memcpy
// and realloc. Whoever grows a buffer with resize() writes the new bytes before anything reads
// or sends them (FrameReader trims a frame to the bytes the socket wrote): heap memory is reused
// and may hold another connection's data.
class ByteBuffer {
 public:
  using value_type = uint8_t;
  using size_type = size_t;
  using iterator = uint8_t*;
  using const_iterator = const uint8_t*;

  ByteBuffer() noexcept = default;
  ByteBuffer(std::initializer_list<uint8_t> bytes) { append(bytes.begin(), bytes.size()); }
  explicit ByteBuffer(std::span<const uint8_t> bytes) { append(bytes.data(), bytes.size()); }
  ByteBuffer(const ByteBuffer& other) { append(other.data_, other.size_); }
  ByteBuffer(ByteBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  ByteBuffer& operator=(const ByteBuffer& other) {
    if (this != &other) {
      size_ = 0;
      append(other.data_, other.size_);
    }
    return *this;
  }
  ByteBuffer& operator=(ByteBuffer&& other) noexcept {
    ByteBuffer taken(std::move(other));
    swap(taken);
    return *this;
  }
  ~ByteBuffer() { std::free(data_); }

  uint8_t* data() noexcept { return data_; }
  const uint8_t* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  iterator begin() noexcept { return data_; }
  iterator end() noexcept { return data_ + size_; }
  const_iterator begin() const noexcept { return data_; }
  const_iterator end() const noexcept { return data_ + size_; }
  uint8_t& operator[](size_t i) noexcept { return data_[i]; }
  const uint8_t& operator[](size_t i) const noexcept { return data_[i]; }
  uint8_t back() const noexcept { return data_[size_ - 1]; }

  // Makes room for `capacity` bytes in all without changing the size.
  void reserve(size_t capacity) {
    if (capacity > capacity_) {
      reallocate(capacity);
    }
  }
  // New bytes are left unwritten (the point of this class); shrinking keeps the capacity.
  void resize(size_t size) {
    make_room(size);
    size_ = size;
  }
  void clear() noexcept { size_ = 0; }
  void push_back(uint8_t byte) {
    make_room(size_ + 1);
    data_[size_++] = byte;
  }
  void append(const uint8_t* bytes, size_t count) { insert(end(), bytes, bytes + count); }
  // Inserts [first, last) (bytes) before `position`, like std::vector::insert; the range may
  // lie in this buffer itself.
  template <std::forward_iterator Iterator>
  iterator insert(const_iterator position, Iterator first, Iterator last) {
    const auto offset = static_cast<size_t>(position - data_);
    const auto count = static_cast<size_t>(std::distance(first, last));
    if (count == 0) {
      return data_ + offset;
    }
    if constexpr (std::contiguous_iterator<Iterator>) {
      const uint8_t* source = std::to_address(first);
      if (std::greater_equal<>{}(source, data_) && std::less<>{}(source, data_ + capacity_)) {
        // From this buffer itself: copy out first, the move below would overwrite it.
        const ByteBuffer copy(std::span<const uint8_t>(source, count));
        return insert(data_ + offset, copy.begin(), copy.end());
      }
      make_room(size_ + count);
      std::memmove(data_ + offset + count, data_ + offset, size_ - offset);
      std::memcpy(data_ + offset, source, count);
    } else {
      make_room(size_ + count);
      std::memmove(data_ + offset + count, data_ + offset, size_ - offset);
      std::copy(first, last, data_ + offset);
    }
    size_ += count;
    return data_ + offset;
  }
  void swap(ByteBuffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

  friend bool operator==(const ByteBuffer& a, const ByteBuffer& b) noexcept {
    return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_) == 0);
  }
  friend bool operator==(const ByteBuffer& a, const std::vector<uint8_t>& b) noexcept {
    return a.size_ == b.size() && (a.size_ == 0 || std::memcmp(a.data_, b.data(), a.size_) == 0);
  }

 private:
  // Capacity for `size` bytes, growing geometrically (as std::vector does) so that appending
  // byte by byte stays linear.
  void make_room(size_t size) {
    if (size > capacity_) {
      reallocate(std::max(size, 2 * capacity_));
    }
  }
  void reallocate(size_t capacity) {
    void* grown = std::realloc(data_, capacity);  // capacity > capacity_ >= 0, so never 0
    if (grown == nullptr) {
      throw std::bad_alloc();
    }
    data_ = static_cast<uint8_t*>(grown);
    capacity_ = capacity;
  }

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace kenc
