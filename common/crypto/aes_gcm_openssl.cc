// AES-256-GCM through OpenSSL's EVP interface: the implementation where Intel's library is not
// available or not chosen (KENC_AES_GCM=openssl). One EVP_CIPHER_CTX per key, the key schedule
// set once; each call only sets the IV.

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <string>

#include "common/crypto/aes_gcm_backend.h"

namespace kenc::crypto::detail {

struct GcmKeySchedule {
  EVP_CIPHER_CTX* ctx = nullptr;  // EVP_CIPHER_CTX_free cleanses the expanded key schedule
};

namespace {

bool feed_aad(EVP_CIPHER_CTX* ctx, AadParts aad) {
  for (auto part : aad) {
    int unused = 0;
    if (!part.empty() &&
        EVP_CipherUpdate(ctx, nullptr, &unused, part.data(), static_cast<int>(part.size())) != 1) {
      return false;
    }
  }
  return true;
}

}  // namespace

GcmKeySchedule* new_key_schedule(std::span<const uint8_t, kAes256KeyBytes> key,
                                 GcmDirection direction) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  // GCM's default IV length is 12 bytes, which is what we use: no EVP_CTRL_GCM_SET_IVLEN.
  if (ctx == nullptr || EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nullptr,
                                          direction == GcmDirection::kEncrypt ? 1 : 0) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  return new GcmKeySchedule{.ctx = ctx};
}

void delete_key_schedule(GcmKeySchedule* schedule) noexcept {
  if (schedule != nullptr) {
    EVP_CIPHER_CTX_free(schedule->ctx);
    delete schedule;
  }
}

bool gcm_encrypt(GcmKeySchedule& schedule, const GcmIv& iv, AadParts aad,
                 std::span<const uint8_t> plaintext, std::span<uint8_t> ciphertext,
                 std::span<uint8_t, kGcmTagBytes> tag) {
  EVP_CIPHER_CTX* ctx = schedule.ctx;
  // Only the IV changes: the key schedule is kept (-1: keep the direction).
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, iv.data(), -1) != 1 ||
      !feed_aad(ctx, aad)) {
    return false;
  }
  int written = 0;
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx, ciphertext.data(), &written, plaintext.data(),
                                              static_cast<int>(plaintext.size())) != 1) {
    return false;
  }
  int final_len = 0;
  return EVP_EncryptFinal_ex(ctx, ciphertext.data() + written, &final_len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes),
                             tag.data()) == 1;
}

GcmOpenResult gcm_decrypt(GcmKeySchedule& schedule, const GcmIv& iv, AadParts aad,
                          std::span<const uint8_t> ciphertext,
                          std::span<const uint8_t, kGcmTagBytes> tag,
                          std::span<uint8_t> plaintext) {
  EVP_CIPHER_CTX* ctx = schedule.ctx;
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, iv.data(), -1) != 1 ||
      !feed_aad(ctx, aad)) {
    return GcmOpenResult::kFailed;
  }
  int written = 0;
  if (!ciphertext.empty() && EVP_DecryptUpdate(ctx, plaintext.data(), &written, ciphertext.data(),
                                               static_cast<int>(ciphertext.size())) != 1) {
    return GcmOpenResult::kFailed;
  }
  // OpenSSL's API takes a non-const tag pointer for SET_TAG but only reads from it.
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes),
                          const_cast<uint8_t*>(tag.data())) != 1) {
    return GcmOpenResult::kFailed;
  }
  int final_len = 0;
  return EVP_DecryptFinal_ex(ctx, plaintext.data() + written, &final_len) == 1
             ? GcmOpenResult::kAuthentic
             : GcmOpenResult::kTagMismatch;
}

std::string_view implementation_name() {
  static const std::string name = std::string("OpenSSL ") + OpenSSL_version(OPENSSL_VERSION_STRING);
  return name;
}

}  // namespace kenc::crypto::detail
