#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>

#include "common/base/result.h"

namespace kenc::crypto {

inline constexpr size_t kAes256KeyBytes = 32;
inline constexpr size_t kGcmIvBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;

using GcmIv = std::array<uint8_t, kGcmIvBytes>;
using GcmTag = std::array<uint8_t, kGcmTagBytes>;

// Additional authenticated data given as several pieces, authenticated as their concatenation,
// so a caller can authenticate "version byte || header bytes" without first copying them into
// one buffer. One piece is the fastest case for every implementation.
using AadParts = std::initializer_list<std::span<const uint8_t>>;

// Which AES-256-GCM implementation this build uses (chosen at build time, see
// aes_gcm_backend.h), with its version and, for Intel's library, the CPU code path it picked:
// for the start-up log and the benchmarks.
std::string_view aes_gcm_implementation();

namespace detail {
// One key's expanded schedule and per-call state, defined by the implementation compiled in.
// Wiped (OPENSSL_cleanse) and freed by the deleter.
struct GcmKeySchedule;
struct GcmKeyScheduleDeleter {
  void operator()(GcmKeySchedule* schedule) const noexcept;
};
using GcmKeySchedulePtr = std::unique_ptr<GcmKeySchedule, GcmKeyScheduleDeleter>;
}  // namespace detail

// AES-256-GCM encryption under one key, built for the per-record hot path: the key schedule
// is computed once in create(); each encrypt() only sets a new IV, so a call costs the
// cipher work alone and allocates nothing. Not thread-safe: keep one per worker thread
// (see AesContextCache). The caller guarantees IV uniqueness (IvSequence does).
class AesGcmEncryptor {
 public:
  // `key` must be 32 bytes. The key bytes are not retained: only the key schedule, which is
  // wiped when the object is destroyed.
  static Result<AesGcmEncryptor> create(std::span<const uint8_t> key);

  // Encrypts `plaintext` into `ciphertext` (same size; may not overlap unless identical) and
  // writes the tag into `tag`. `ciphertext.size()` must equal `plaintext.size()`.
  Status encrypt(const GcmIv& iv, AadParts aad, std::span<const uint8_t> plaintext,
                 std::span<uint8_t> ciphertext, std::span<uint8_t, kGcmTagBytes> tag);

 private:
  explicit AesGcmEncryptor(detail::GcmKeySchedulePtr schedule) : schedule_(std::move(schedule)) {}
  detail::GcmKeySchedulePtr schedule_;
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
  explicit AesGcmDecryptor(detail::GcmKeySchedulePtr schedule) : schedule_(std::move(schedule)) {}
  detail::GcmKeySchedulePtr schedule_;
};

}  // namespace kenc::crypto
