#include "keybroker/kms/vault/base64.h"

#include <array>

namespace kenc::keybroker::kms::vault {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_reverse_table() {
  std::array<int8_t, 256> table{};
  table.fill(-1);
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}

constexpr std::array<int8_t, 256> kReverse = make_reverse_table();

}  // namespace

std::string base64_encode(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    if (rest == 2) {
      v |= uint32_t{bytes[i + 1]} << 8;
    }
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<crypto::SecureBytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return make_error(ErrorCode::kInvalidArgument, "base64 length is not a multiple of 4");
  }
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    ++padding;
  }
  if (text.size() >= 2 && text[text.size() - 2] == '=') {
    ++padding;
  }
  crypto::SecureBytes out(text.size() / 4 * 3 - padding);
  auto dst = out.mutable_view();
  size_t written = 0;
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int8_t d = kReverse[static_cast<uint8_t>(c)];
      if (c == '=' && last && j >= 4 - padding) {
        d = 0;
      }
      if (d < 0) {
        return make_error(ErrorCode::kInvalidArgument, "invalid base64 character");
      }
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    const size_t n = last ? 3 - padding : 3;
    for (size_t k = 0; k < n; ++k) {
      dst[written++] = static_cast<uint8_t>(v >> (16 - 8 * k));
    }
  }
  return out;
}

}  // namespace kenc::keybroker::kms::vault
