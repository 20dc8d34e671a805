#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "common/base/result.h"

namespace kenc::crypto {

inline constexpr size_t kAes256KeyBytes = 32;
inline constexpr size_t kGcmIvBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;

using GcmIv = std::array<uint8_t, kGcmIvBytes>;
using GcmTag = std::array<uint8_t, kGcmTagBytes>;

// Additional authenticated data given as several pieces, fed to GCM in order, so a caller can
// authenticate "version byte || header bytes" without first copying them into one buffer.
using AadParts = std::initializer_list<std::span<const uint8_t>>;

namespace detail {
// Owns one EVP_CIPHER_CTX. EVP_CIPHER_CTX_free cleanses the expanded key schedule.
class CipherCtx {
 public:
  CipherCtx() = default;
  explicit CipherCtx(EVP_CIPHER_CTX* ctx) : ctx_(ctx) {}
  ~CipherCtx() { EVP_CIPHER_CTX_free(ctx_); }
  CipherCtx(CipherCtx&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }
  CipherCtx& operator=(CipherCtx&& other) noexcept;
  CipherCtx(const CipherCtx&) = delete;
  CipherCtx& operator=(const CipherCtx&) = delete;
  EVP_CIPHER_CTX* get() const { return ctx_; }

 private:
  EVP_CIPHER_CTX* ctx_ = nullptr;
};
}  // namespace detail

// AES-256-GCM encryption under one key, built for the per-record hot path: the key schedule
// is computed once in create(); each encrypt() only sets a new IV, so a call costs the
// cipher work alone and allocates nothing. Not thread-safe: keep one per worker thread
// (see AesContextCache). The caller guarantees IV uniqueness (IvSequence does).
class AesGcmEncryptor {
 public:
  // `key` must be 32 bytes. The key bytes are not retained: only OpenSSL's key schedule,
  // which is cleansed when the object is destroyed.
  static Result<AesGcmEncryptor> create(std::span<const uint8_t> key);

  // Encrypts `plaintext` into `ciphertext` (same size; may not overlap unless identical) and
  // writes the tag into `tag`. `ciphertext.size()` must equal `plaintext.size()`.
  Status encrypt(const GcmIv& iv, AadParts aad, std::span<const uint8_t> plaintext,
                 std::span<uint8_t> ciphertext, std::span<uint8_t, kGcmTagBytes> tag);

 private:
  explicit AesGcmEncryptor(detail::CipherCtx ctx) : ctx_(std::move(ctx)) {}
  detail::CipherCtx ctx_;
};

// AES-256-GCM decryption under one key; the counterpart of AesGcmEncryptor.
class AesGcmDecryptor {
 public:
  static Result<AesGcmDecryptor> create(std::span<const uint8_t> key);

  // Decrypts and verifies. On a tag mismatch returns kDataLoss and wipes `plaintext`, so
  // unauthenticated bytes never escape. `plaintext.size()` must equal `ciphertext.size()`.
  Status decrypt(const GcmIv& iv, AadParts aad, std::span<const uint8_t> ciphertext,
                 std::span<const uint8_t, kGcmTagBytes> tag, std::span<uint8_t> plaintext);

 private:
  explicit AesGcmDecryptor(detail::CipherCtx ctx) : ctx_(std::move(ctx)) {}
  detail::CipherCtx ctx_;
};

}  // namespace kenc::crypto
