#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "common/base/hex.h"
#include "common/crypto/secure_bytes.h"

namespace kenc::keybroker::dek {

// A DEK's public name: the first 16 bytes of SHA-256 over its serialized EDEK. It is the same
// when the DEK is leased and when it is unwrapped, appears in audit lines, and reveals nothing
// about the key.
using DekId = std::array<uint8_t, 16>;
DekId dek_id_of(std::span<const uint8_t> edek);
using kenc::to_hex;  // hex of DEK ids for logs and audit lines

// A plaintext DEK together with what identifies it. Key material is wiped when dropped.
struct UnwrappedDek {
  DekId dek_id{};
  crypto::SecureBytes dek;
  std::string kek_id;
  uint32_t kek_version = 0;
};

}  // namespace kenc::keybroker::dek
