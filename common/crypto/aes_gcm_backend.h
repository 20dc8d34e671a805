#pragma once

// The interface between AesGcmEncryptor/AesGcmDecryptor (aes_gcm.cc: argument checks, errors)
// and the AES-256-GCM implementation compiled in, one of:
//   aes_gcm_ipsec_mb.cc  Intel's Multi-Buffer Crypto for IPsec library (libipsec-mb), the
//                        default on x86-64: one direct call per record, about 4x less time per
//                        100 B to 1 KiB record than OpenSSL 3.0's EVP layer (docs/benchmarks.md);
//   aes_gcm_openssl.cc   OpenSSL's EVP interface, everywhere else (KENC_AES_GCM=openssl).
// Callers have checked sizes: key 32 bytes, output as long as input, lengths below 2 GiB.

#include <span>
#include <string_view>

#include "common/crypto/aes_gcm.h"

namespace kenc::crypto::detail {

enum class GcmDirection { kEncrypt, kDecrypt };

// nullptr when the implementation cannot set up (out of memory, library failure).
GcmKeySchedule* new_key_schedule(std::span<const uint8_t, kAes256KeyBytes> key,
                                 GcmDirection direction);

// Wipes the schedule, then frees it.
void delete_key_schedule(GcmKeySchedule* schedule) noexcept;

// false on an internal failure of the implementation.
bool gcm_encrypt(GcmKeySchedule& schedule, const GcmIv& iv, AadParts aad,
                 std::span<const uint8_t> plaintext, std::span<uint8_t> ciphertext,
                 std::span<uint8_t, kGcmTagBytes> tag);

enum class GcmOpenResult { kAuthentic, kTagMismatch, kFailed };

// Leaves the (possibly unauthentic) plaintext in place: the caller wipes it unless kAuthentic.
GcmOpenResult gcm_decrypt(GcmKeySchedule& schedule, const GcmIv& iv, AadParts aad,
                          std::span<const uint8_t> ciphertext,
                          std::span<const uint8_t, kGcmTagBytes> tag, std::span<uint8_t> plaintext);

std::string_view implementation_name();

}  // namespace kenc::crypto::detail
