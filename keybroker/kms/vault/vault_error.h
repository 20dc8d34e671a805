#pragma once

#include <string_view>

#include "common/base/result.h"

namespace kenc::keybroker::kms::vault {

// Which Transit call failed: the same HTTP status means different things per call (a 400 from
// decrypt is a ciphertext that does not unwrap; a 400 from datakey is a bad request).
enum class VaultOperation { kReadKey, kDataKey, kDecrypt, kLogin, kRenew, kHealth, kOther };

// Maps a non-2xx answer from Vault to the Kms error codes (see keybroker/kms/kms.h):
//   404 without message, or 400 "encryption key not found"  -> kNotFound
//   other 404 ("no handler for route": wrong mount)           -> kInternal
//   403                                      -> kPermissionDenied
//   429, 5xx (503 = sealed/standby)          -> kUnavailable
//   400 from decrypt                         -> kDataLoss (tampered or foreign ciphertext)
//   other 4xx                                -> kInvalidArgument
// The message carries Vault's own error text, which never contains tokens or key material.
Error error_from_http(VaultOperation op, long http_status, std::string_view body);

// Whether a failed call may succeed if repeated: 429, 5xx, connection failures and timeouts.
bool is_retriable_http_status(long http_status);

}  // namespace kenc::keybroker::kms::vault
