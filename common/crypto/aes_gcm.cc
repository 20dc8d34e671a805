#include "common/crypto/aes_gcm.h"

#include <openssl/crypto.h>

#include <climits>
#include <utility>

#include "common/crypto/aes_gcm_backend.h"

namespace kenc::crypto {
namespace detail {

void GcmKeyScheduleDeleter::operator()(GcmKeySchedule* schedule) const noexcept {
  delete_key_schedule(schedule);
}

}  // namespace detail

namespace {

// Both implementations take lengths that records never come near; we never trust that silently.
bool fits_int(size_t n) { return n <= static_cast<size_t>(INT_MAX); }

bool aad_fits_int(AadParts aad) {
  size_t total = 0;
  for (auto part : aad) {
    if (!fits_int(part.size()) || !fits_int(total + part.size())) {
      return false;
    }
    total += part.size();
  }
  return true;
}

Result<detail::GcmKeySchedulePtr> make_schedule(std::span<const uint8_t> key,
                                                detail::GcmDirection direction) {
  if (key.size() != kAes256KeyBytes) {
    return make_error(ErrorCode::kInvalidArgument, "AES-256-GCM key must be 32 bytes");
  }
  detail::GcmKeySchedulePtr schedule(
      detail::new_key_schedule(key.first<kAes256KeyBytes>(), direction));
  if (schedule == nullptr) {
    return make_error(ErrorCode::kInternal, "AES-256-GCM key setup failed");
  }
  return schedule;
}

}  // namespace

std::string_view aes_gcm_implementation() { return detail::implementation_name(); }

Result<AesGcmEncryptor> AesGcmEncryptor::create(std::span<const uint8_t> key) {
  auto schedule = make_schedule(key, detail::GcmDirection::kEncrypt);
  if (!schedule.ok()) {
    return schedule.error();
  }
  return AesGcmEncryptor(std::move(schedule).value());
}

Status AesGcmEncryptor::encrypt(const GcmIv& iv, AadParts aad, std::span<const uint8_t> plaintext,
                                std::span<uint8_t> ciphertext,
                                std::span<uint8_t, kGcmTagBytes> tag) {
  if (ciphertext.size() != plaintext.size() || !fits_int(plaintext.size()) || !aad_fits_int(aad)) {
    return make_error(ErrorCode::kInvalidArgument, "ciphertext buffer size must equal plaintext");
  }
  if (!detail::gcm_encrypt(*schedule_, iv, aad, plaintext, ciphertext, tag)) {
    return make_error(ErrorCode::kInternal, "AES-256-GCM encryption failed");
  }
  return Status::Ok();
}

Result<AesGcmDecryptor> AesGcmDecryptor::create(std::span<const uint8_t> key) {
  auto schedule = make_schedule(key, detail::GcmDirection::kDecrypt);
  if (!schedule.ok()) {
    return schedule.error();
  }
  return AesGcmDecryptor(std::move(schedule).value());
}

Status AesGcmDecryptor::decrypt(const GcmIv& iv, AadParts aad, std::span<const uint8_t> ciphertext,
                                std::span<const uint8_t, kGcmTagBytes> tag,
                                std::span<uint8_t> plaintext) {
  if (ciphertext.size() != plaintext.size() || !fits_int(ciphertext.size()) || !aad_fits_int(aad)) {
    return make_error(ErrorCode::kInvalidArgument, "plaintext buffer size must equal ciphertext");
  }
  auto result = detail::gcm_decrypt(*schedule_, iv, aad, ciphertext, tag, plaintext);
  if (result == detail::GcmOpenResult::kAuthentic) {
    return Status::Ok();
  }
  if (!plaintext.empty()) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
  }
  return result == detail::GcmOpenResult::kTagMismatch
             ? make_error(ErrorCode::kDataLoss, "AES-256-GCM authentication tag mismatch")
             : make_error(ErrorCode::kInternal, "AES-256-GCM decryption failed");
}

}  // namespace kenc::crypto
