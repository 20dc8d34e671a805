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

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

}  // namespace kenc::keybroker::dek
