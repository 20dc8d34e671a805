#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace kenc::crypto {

// An encrypted data key as stored in every cipher record: which KEK (and which version of it)
// wrapped the DEK, and the KMS's wrapped bytes. Binary, not base64, to keep records small:
//
//   u8       kek_id length N (1..255)
//   N bytes  kek_id (UTF-8, the KMS's name for the KEK)
//   uvarint  kek_version (>= 1)
//   rest     wrapped DEK as produced by the KMS (for Vault Transit: the decoded bytes of the
//            base64 part of `vault:vN:...`, i.e. nonce || ciphertext || tag)
//
// The EDEK's length is carried by the enclosing cipher record, so `wrapped` has no length field.
struct Edek {
  std::string kek_id;
  uint32_t kek_version = 0;
  std::vector<uint8_t> wrapped;

  bool operator==(const Edek&) const = default;
};

inline constexpr size_t kMaxKekIdBytes = 255;

// The same fields, pointing into the serialized bytes: what the record hot path uses, since
// it neither allocates nor copies.
struct EdekView {
  std::string_view kek_id;
  uint32_t kek_version = 0;
  std::span<const uint8_t> wrapped;
};

// Errors: an empty or over-long kek_id, version 0, or an empty wrapped key.
Result<std::vector<uint8_t>> serialize_edek(const Edek& edek);
Result<Edek> parse_edek(std::span<const uint8_t> bytes);
Result<EdekView> parse_edek_view(std::span<const uint8_t> bytes);

}  // namespace kenc::crypto
