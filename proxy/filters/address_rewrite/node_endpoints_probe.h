#pragma once

#include <cstdint>
#include <span>

#include "common/base/result.h"

namespace kenc::proxy::address_rewrite {

// Whether a Produce (v10+) or Fetch (v16+) response carries the KIP-951 NodeEndpoints tagged
// field, found by walking the response's structure without decoding it: no allocation, and the
// record data of a fetch is skipped by its length, never copied. Brokers add NodeEndpoints only
// when a partition's leader moved (NOT_LEADER_OR_FOLLOWER with a new leader), so nearly every
// response has none and the address-rewrite filter forwards it as its original bytes instead of
// decoding and re-encoding megabytes of fetched records.
// `payload` is the response frame without its size prefix (header and body).
// Errors: kUnsupported for another API key or a version this walker does not know (the caller
// then takes the full decoding path); kInvalidArgument for malformed or truncated bytes, or
// bytes after the body.
Result<bool> has_node_endpoints(int16_t api_key, int16_t api_version,
                                std::span<const uint8_t> payload);

// The highest versions whose layout the walker knows (a test checks them against the codec, so a
// codec update that adds a version makes someone look at the layout first).
inline constexpr int16_t kProbeHighestProduceVersion = 13;
inline constexpr int16_t kProbeHighestFetchVersion = 18;

}  // namespace kenc::proxy::address_rewrite
