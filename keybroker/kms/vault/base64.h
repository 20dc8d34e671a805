#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/crypto/secure_bytes.h"

namespace kenc::keybroker::kms::vault {

// Standard base64 (RFC 4648 section 4, with '=' padding), as Vault uses for plaintexts and
// ciphertexts. Decoding is strict: wrong length, stray characters or bad padding are errors.
std::string base64_encode(std::span<const uint8_t> bytes);

// Decodes into a buffer that is wiped when dropped, since Vault hands out DEKs this way.
Result<crypto::SecureBytes> base64_decode(std::string_view text);

}  // namespace kenc::keybroker::kms::vault
