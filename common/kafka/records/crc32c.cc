#include "common/kafka/records/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define KENC_CRC32C_X86 1
#endif

namespace kenc::kafka::records {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // reflected Castagnoli polynomial

using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1) ? (crc >> 1) ^ kPolynomial : crc >> 1;
    }
    t[0][i] = crc;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (size_t k = 1; k < 8; ++k) {
      t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
    }
  }
  return t;
}

constexpr Tables kTables = make_tables();

uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);  // x86 and arm64 hosts are little-endian
  return v;
}

#ifdef KENC_CRC32C_X86
// One `crc32` instruction has a latency of three cycles but a throughput of one per cycle, so a
// single chain of them uses a third of what the CPU can do. Buffers of at least three lanes
// are therefore checksummed as three independent lanes of kLaneBytes each, and the lanes'
// results combined: the CRC register is linear, so the state after A||B||C is
//   zeros(state after A, |B|+|C|) ^ zeros(state after B from 0, |C|) ^ state after C from 0,
// where zeros(x, n) is the state reached from x by n zero bytes, a fixed linear map per n
// applied here with four byte tables.
constexpr size_t kLaneBytes = 1024;

struct ZerosOperator {
  std::array<std::array<uint32_t, 256>, 4> table{};
  uint32_t apply(uint32_t x) const {
    return table[0][x & 0xFF] ^ table[1][(x >> 8) & 0xFF] ^ table[2][(x >> 16) & 0xFF] ^
           table[3][x >> 24];
  }
};

__attribute__((target("sse4.2"))) uint64_t run_zeros(uint64_t state, size_t bytes) {
  for (size_t i = 0; i < bytes; i += 8) {
    state = _mm_crc32_u64(state, 0);
  }
  return state;
}

// The map for `bytes` zero bytes, built from its value on the 32 basis vectors.
ZerosOperator make_zeros_operator(size_t bytes) {
  std::array<uint32_t, 32> basis{};
  for (int bit = 0; bit < 32; ++bit) {
    basis[static_cast<size_t>(bit)] = static_cast<uint32_t>(run_zeros(uint64_t{1} << bit, bytes));
  }
  ZerosOperator op;
  for (size_t byte = 0; byte < 4; ++byte) {
    for (uint32_t v = 0; v < 256; ++v) {
      uint32_t out = 0;
      for (int bit = 0; bit < 8; ++bit) {
        if ((v >> bit) & 1) {
          out ^= basis[byte * 8 + static_cast<size_t>(bit)];
        }
      }
      op.table[byte][v] = out;
    }
  }
  return op;
}

__attribute__((target("sse4.2"))) uint32_t extend_sse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t c = ~crc;
  if (n >= 3 * kLaneBytes) {
    static const ZerosOperator kOneLane = make_zeros_operator(kLaneBytes);
    static const ZerosOperator kTwoLanes = make_zeros_operator(2 * kLaneBytes);
    while (n >= 3 * kLaneBytes) {
      uint64_t c1 = 0;
      uint64_t c2 = 0;
      for (size_t i = 0; i < kLaneBytes; i += 8) {
        c = _mm_crc32_u64(c, load_le64(p + i));
        c1 = _mm_crc32_u64(c1, load_le64(p + kLaneBytes + i));
        c2 = _mm_crc32_u64(c2, load_le64(p + 2 * kLaneBytes + i));
      }
      c = kTwoLanes.apply(static_cast<uint32_t>(c)) ^ kOneLane.apply(static_cast<uint32_t>(c1)) ^
          c2;
      p += 3 * kLaneBytes;
      n -= 3 * kLaneBytes;
    }
  }
  while (n >= 8) {
    c = _mm_crc32_u64(c, load_le64(p));
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, *p++);
    --n;
  }
  return ~c32;
}

bool detect_sse42() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#endif

}  // namespace

uint32_t crc32c_extend_software(uint32_t crc, std::span<const uint8_t> data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint32_t c = ~crc;
  while (n >= 8) {
    uint64_t word = load_le64(p) ^ c;
    c = kTables[7][word & 0xFF] ^ kTables[6][(word >> 8) & 0xFF] ^ kTables[5][(word >> 16) & 0xFF] ^
        kTables[4][(word >> 24) & 0xFF] ^ kTables[3][(word >> 32) & 0xFF] ^
        kTables[2][(word >> 40) & 0xFF] ^ kTables[1][(word >> 48) & 0xFF] ^ kTables[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFF];
    --n;
  }
  return ~c;
}

bool crc32c_uses_hardware() {
#ifdef KENC_CRC32C_X86
  static const bool has_sse42 = detect_sse42();
  return has_sse42;
#else
  return false;
#endif
}

uint32_t crc32c_extend(uint32_t crc, std::span<const uint8_t> data) {
#ifdef KENC_CRC32C_X86
  if (crc32c_uses_hardware()) {
    return extend_sse42(crc, data.data(), data.size());
  }
#endif
  return crc32c_extend_software(crc, data);
}

}  // namespace kenc::kafka::records
