#pragma once

#include <cstdint>
#include <span>

#include "common/base/result.h"

namespace kenc::proxy {

inline constexpr int16_t kProduceApiKey = 0;

// Reads the `acks` field of a Produce request (payload = frame without its size prefix,
// starting at the request header). The proxy needs only this field to know whether the broker
// will answer (acks=0 gets no response), so a tiny dedicated parser is cheaper than decoding
// the request. Handles request header v1 (Produce v0-8) and v2 (v9+, flexible), and the
// transactional id that precedes `acks` from v3 on. Every length is checked against the bytes
// left; truncated input yields kOutOfRange.
Result<int16_t> peek_produce_acks(std::span<const uint8_t> payload, int16_t api_version);

}  // namespace kenc::proxy
