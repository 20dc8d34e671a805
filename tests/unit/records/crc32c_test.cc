#include "common/kafka/records/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace kenc::kafka::records {
namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Crc32c, KnownVectors) {
  // The check value of CRC-32C (RFC 3720 and the Castagnoli catalogue).
  EXPECT_EQ(crc32c(bytes_of("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c_extend_software(0, bytes_of("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c({}), 0u);
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of zeros
  std::vector<uint8_t> ones(32, 0xFF);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
}

TEST(Crc32c, HardwareAndSoftwareAgreeOnEveryLengthAndSplit) {
  std::mt19937 rng(7);
  std::vector<uint8_t> data(1000);
  for (auto& b : data) {
    b = static_cast<uint8_t>(rng());
  }
  for (size_t len = 0; len < data.size(); len += 37) {
    auto span = std::span<const uint8_t>(data).first(len);
    uint32_t whole = crc32c(span);
    EXPECT_EQ(whole, crc32c_extend_software(0, span)) << len;
    size_t split = len / 3;
    EXPECT_EQ(crc32c_extend(crc32c(span.first(split)), span.subspan(split)), whole) << len;
  }
  RecordProperty("hardware", crc32c_uses_hardware() ? "sse4.2" : "software");
}

TEST(Crc32c, LongBuffersCheckedInThreeLanesAgreeWithTheSoftwarePath) {
  // Lengths around the three-lane block (3 KiB) and its multiples, at odd offsets, so every
  // combination of lane blocks, 8-byte words and single bytes is exercised.
  std::mt19937 rng(11);
  std::vector<uint8_t> data(40000);
  for (auto& b : data) {
    b = static_cast<uint8_t>(rng());
  }
  for (size_t len : {3071u, 3072u, 3073u, 3079u, 6143u, 6144u, 6151u, 9216u, 10000u, 39990u}) {
    for (size_t offset : {0u, 1u, 3u, 7u}) {
      auto span = std::span<const uint8_t>(data).subspan(offset, len);
      EXPECT_EQ(crc32c(span), crc32c_extend_software(0, span)) << len << " at " << offset;
      EXPECT_EQ(crc32c_extend(0x12345678u, span), crc32c_extend_software(0x12345678u, span))
          << "continuing " << len << " at " << offset;
    }
  }
  std::vector<uint8_t> zeros(9216, 0);
  EXPECT_EQ(crc32c(zeros), crc32c_extend_software(0, zeros));
}

}  // namespace
}  // namespace kenc::kafka::records
