#include "common/crypto/secure_bytes.h"

#include <openssl/crypto.h>

#include <utility>

namespace kenc::crypto {

SecureBytes::SecureBytes(std::span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}

SecureBytes::SecureBytes(size_t size) : bytes_(size, 0) {}

SecureBytes::~SecureBytes() { wipe(); }

SecureBytes::SecureBytes(SecureBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.bytes_.clear();
}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

void SecureBytes::wipe() {
  if (!bytes_.empty()) {
    OPENSSL_cleanse(bytes_.data(), bytes_.size());
  }
  bytes_.clear();
}

}  // namespace kenc::crypto
