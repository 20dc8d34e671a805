#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/crypto/secure_bytes.h"

namespace kenc::keybroker::kms {

// What a KMS says about a key-encryption key. Never key material.
struct KekInfo {
  std::string kek_id;           // the KMS's name for the KEK
  uint32_t latest_version = 0;  // new DEKs are wrapped under this version
};

// A fresh data key: its plaintext (wiped when dropped) and the KMS's wrapped form.
struct GeneratedDek {
  crypto::SecureBytes dek;       // 32 bytes
  std::vector<uint8_t> wrapped;  // opaque to everyone but the KMS
  uint32_t kek_version = 0;      // the KEK version that wrapped it
};

// A key management service that holds KEKs and never lets them out. Implementations: the
// embedded local KMS (KEKs in a 0600 file) and HashiCorp Vault / OpenBao Transit.
//
// Calls block (they are made from the key broker's KMS worker pool, never from a gRPC
// completion thread) and are safe to call from several threads at once. Errors use these codes:
//   kNotFound          the KEK does not exist
//   kPermissionDenied  the KMS refused our credentials or policy
//   kUnavailable       the KMS cannot be reached, is sealed, or keeps failing after retries
//   kDeadlineExceeded  the KMS did not answer in time
//   kDataLoss          a wrapped key does not unwrap (tampered, or the wrong KEK)
//   kInvalidArgument   anything else the KMS rejected about the request
class Kms {
 public:
  virtual ~Kms() = default;

  // A short name for logs and metrics, e.g. "local" or "vault".
  virtual std::string name() const = 0;

  virtual Result<KekInfo> describe_kek(const std::string& kek_id) = 0;

  // Generates a 256-bit DEK and wraps it under the latest version of the KEK.
  virtual Result<GeneratedDek> generate_dek(const std::string& kek_id) = 0;

  // Unwraps a DEK that was wrapped under `kek_version` of the KEK.
  virtual Result<crypto::SecureBytes> unwrap_dek(const std::string& kek_id, uint32_t kek_version,
                                                 std::span<const uint8_t> wrapped) = 0;

  // Cheap reachability check for /readyz.
  virtual Status health() = 0;
};

}  // namespace kenc::keybroker::kms
