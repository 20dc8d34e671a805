#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "common/base/shared_bytes.h"
#include "common/kafka/protocol/types.h"

namespace kenc::kafka::testing {

// Field values for the generated sample messages; `seed` varies them between fields and runs.
inline std::string sample_string(int seed) { return "s" + std::to_string(seed) + "-kenc"; }

inline std::vector<uint8_t> sample_bytes(int seed) {
  return std::vector<uint8_t>(static_cast<size_t>(seed % 5) + 1, static_cast<uint8_t>(seed));
}

inline SharedBytes sample_records(int seed) {
  // Not a valid record batch: the protocol layer treats records as opaque bytes.
  return SharedBytes(
      std::vector<uint8_t>(static_cast<size_t>(seed % 7) + 3, static_cast<uint8_t>(0xA0 + seed)));
}

inline Uuid sample_uuid(int seed) {
  Uuid id{};
  for (size_t i = 0; i < id.size(); ++i) {
    id[i] = static_cast<uint8_t>(seed * 17 + static_cast<int>(i) + 1);
  }
  return id;
}

// Unknown tagged fields with the given tags (ascending), with small raw values.
inline RawTaggedFields sample_unknown_tags(std::initializer_list<int> tags, int seed) {
  RawTaggedFields fields;
  for (int tag : tags) {
    fields.push_back(RawTaggedField{
        static_cast<uint32_t>(tag),
        std::vector<uint8_t>(static_cast<size_t>(seed) + 1, static_cast<uint8_t>(tag))});
  }
  return fields;
}

}  // namespace kenc::kafka::testing
