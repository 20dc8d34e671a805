#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/base/shared_bytes.h"

namespace kenc::kafka {

// Kafka's 128-bit UUID (topic ids, directory ids), big-endian on the wire.
using Uuid = std::array<uint8_t, 16>;

// A tagged field this code does not know (a newer Kafka version, or a tag outside the spec). It
// is kept with its raw bytes so that decoding then encoding a message is byte-exact.
struct RawTaggedField {
  uint32_t tag = 0;
  std::vector<uint8_t> data;

  bool operator==(const RawTaggedField&) const = default;
};

using RawTaggedFields = std::vector<RawTaggedField>;

}  // namespace kenc::kafka
