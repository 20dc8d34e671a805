#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace kenc {

// Lower-case hex of `bytes` (ids in logs and audit lines; key files of the local KMS).
std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace kenc
