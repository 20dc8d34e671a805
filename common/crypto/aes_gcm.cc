#include "common/crypto/aes_gcm.h"

#include <openssl/crypto.h>

#include <climits>
#include <utility>

namespace kenc::crypto {
namespace detail {

CipherCtx& CipherCtx::operator=(CipherCtx&& other) noexcept {
  if (this != &other) {
    EVP_CIPHER_CTX_free(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

}  // namespace detail

namespace {

// OpenSSL takes int lengths; records are far below 2 GiB but we never trust that silently.
bool fits_int(size_t n) { return n <= static_cast<size_t>(INT_MAX); }

Result<detail::CipherCtx> make_ctx(std::span<const uint8_t> key, bool encrypt) {
  if (key.size() != kAes256KeyBytes) {
    return make_error(ErrorCode::kInvalidArgument, "AES-256-GCM key must be 32 bytes");
  }
  detail::CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx.get() == nullptr) {
    return make_error(ErrorCode::kInternal, "EVP_CIPHER_CTX_new failed");
  }
  // GCM's default IV length is 12 bytes, which is what we use: no EVP_CTRL_GCM_SET_IVLEN.
  int ok = encrypt ? EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nullptr)
                   : EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nullptr);
  if (ok != 1) {
    return make_error(ErrorCode::kInternal, "AES-256-GCM key setup failed");
  }
  return ctx;
}

bool feed_aad(EVP_CIPHER_CTX* ctx, AadParts aad, bool encrypt) {
  for (auto part : aad) {
    if (part.empty()) {
      continue;
    }
    if (!fits_int(part.size())) {
      return false;
    }
    int unused = 0;
    int ok =
        encrypt
            ? EVP_EncryptUpdate(ctx, nullptr, &unused, part.data(), static_cast<int>(part.size()))
            : EVP_DecryptUpdate(ctx, nullptr, &unused, part.data(), static_cast<int>(part.size()));
    if (ok != 1) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<AesGcmEncryptor> AesGcmEncryptor::create(std::span<const uint8_t> key) {
  auto ctx = make_ctx(key, /*encrypt=*/true);
  if (!ctx.ok()) {
    return ctx.error();
  }
  return AesGcmEncryptor(std::move(ctx).value());
}

Status AesGcmEncryptor::encrypt(const GcmIv& iv, AadParts aad, std::span<const uint8_t> plaintext,
                                std::span<uint8_t> ciphertext,
                                std::span<uint8_t, kGcmTagBytes> tag) {
  if (ciphertext.size() != plaintext.size() || !fits_int(plaintext.size())) {
    return make_error(ErrorCode::kInvalidArgument, "ciphertext buffer size must equal plaintext");
  }
  EVP_CIPHER_CTX* ctx = ctx_.get();
  // Only the IV changes: the key schedule from create() is kept.
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data()) != 1 ||
      !feed_aad(ctx, aad, /*encrypt=*/true)) {
    return make_error(ErrorCode::kInternal, "AES-256-GCM encryption setup failed");
  }
  int written = 0;
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx, ciphertext.data(), &written, plaintext.data(),
                                              static_cast<int>(plaintext.size())) != 1) {
    return make_error(ErrorCode::kInternal, "AES-256-GCM encryption failed");
  }
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx, ciphertext.data() + written, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes), tag.data()) !=
          1) {
    return make_error(ErrorCode::kInternal, "AES-256-GCM finalisation failed");
  }
  return Status::Ok();
}

Result<AesGcmDecryptor> AesGcmDecryptor::create(std::span<const uint8_t> key) {
  auto ctx = make_ctx(key, /*encrypt=*/false);
  if (!ctx.ok()) {
    return ctx.error();
  }
  return AesGcmDecryptor(std::move(ctx).value());
}

Status AesGcmDecryptor::decrypt(const GcmIv& iv, AadParts aad, std::span<const uint8_t> ciphertext,
                                std::span<const uint8_t, kGcmTagBytes> tag,
                                std::span<uint8_t> plaintext) {
  if (ciphertext.size() != plaintext.size() || !fits_int(ciphertext.size())) {
    return make_error(ErrorCode::kInvalidArgument, "plaintext buffer size must equal ciphertext");
  }
  EVP_CIPHER_CTX* ctx = ctx_.get();
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data()) != 1 ||
      !feed_aad(ctx, aad, /*encrypt=*/false)) {
    return make_error(ErrorCode::kInternal, "AES-256-GCM decryption setup failed");
  }
  int written = 0;
  if (!ciphertext.empty() && EVP_DecryptUpdate(ctx, plaintext.data(), &written, ciphertext.data(),
                                               static_cast<int>(ciphertext.size())) != 1) {
    return make_error(ErrorCode::kInternal, "AES-256-GCM decryption failed");
  }
  // OpenSSL's API takes a non-const tag pointer for SET_TAG but only reads from it.
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes),
                          const_cast<uint8_t*>(tag.data())) != 1) {
    return make_error(ErrorCode::kInternal, "AES-256-GCM tag setup failed");
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx, plaintext.data() + written, &final_len) != 1) {
    if (!plaintext.empty()) {
      OPENSSL_cleanse(plaintext.data(), plaintext.size());
    }
    return make_error(ErrorCode::kDataLoss, "AES-256-GCM authentication tag mismatch");
  }
  return Status::Ok();
}

}  // namespace kenc::crypto
