#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace kenc::crypto {

// Owns key material. The bytes are wiped with OPENSSL_cleanse when the buffer is dropped or
// overwritten, and the type cannot be copied by accident: use clone() when a copy is meant.
class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(std::span<const uint8_t> bytes);
  explicit SecureBytes(size_t size);
  ~SecureBytes();

  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  SecureBytes clone() const { return SecureBytes(view()); }
  void wipe();

  std::span<const uint8_t> view() const { return {bytes_.data(), bytes_.size()}; }
  std::span<uint8_t> mutable_view() { return {bytes_.data(), bytes_.size()}; }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace kenc::crypto
