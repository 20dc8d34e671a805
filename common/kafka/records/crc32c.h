#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kenc::kafka::records {

// CRC32C (Castagnoli), the checksum of magic v2 record batches. Debian does not package Google's
// crc32c library, so this uses the SSE4.2 `crc32` instruction when the CPU has it and a
// slicing-by-8 table otherwise. All entry points return the same values.

// Continues `crc` (0 for a fresh checksum) over `data`.
uint32_t crc32c_extend(uint32_t crc, std::span<const uint8_t> data);
inline uint32_t crc32c(std::span<const uint8_t> data) { return crc32c_extend(0, data); }

// The portable implementation, exposed so tests can compare it with the hardware path.
uint32_t crc32c_extend_software(uint32_t crc, std::span<const uint8_t> data);
// True when crc32c_extend uses the CPU instruction.
bool crc32c_uses_hardware();

}  // namespace kenc::kafka::records
