#include "keybroker/dek/unwrapped_dek.h"

#include <openssl/sha.h>

#include <algorithm>

namespace kenc::keybroker::dek {

DekId dek_id_of(std::span<const uint8_t> edek) {
  std::array<uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(edek.data(), edek.size(), digest.data());
  DekId id{};
  std::copy_n(digest.begin(), id.size(), id.begin());
  return id;
}

}  // namespace kenc::keybroker::dek
