#include "common/base/varint.h"

#include <gtest/gtest.h>

namespace kenc {
namespace {

TEST(Varint, RoundTripsUnsigned) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 16383ull, 16384ull, 0xFFFFFFFFull,
                     0xFFFFFFFFFFFFFFFFull}) {
    std::vector<uint8_t> out;
    append_uvarint(out, v);
    EXPECT_EQ(out.size(), uvarint_size(v));
    uint64_t back = 0;
    EXPECT_EQ(read_uvarint(out, back), out.size());
    EXPECT_EQ(back, v);
  }
}

TEST(Varint, KnownEncoding) {
  std::vector<uint8_t> out;
  append_uvarint(out, 300);
  EXPECT_EQ(out, (std::vector<uint8_t>{0xAC, 0x02}));
}

TEST(Varint, TruncatedAndOverlongAreRejected) {
  uint64_t v = 0;
  EXPECT_EQ(read_uvarint(std::vector<uint8_t>{0x80, 0x80}, v), 0u);
  EXPECT_EQ(read_uvarint(std::vector<uint8_t>{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, v, 5), 0u);
  EXPECT_EQ(read_uvarint(std::vector<uint8_t>{}, v), 0u);
}

TEST(Varint, ZigZag) {
  EXPECT_EQ(zigzag_encode(0), 0u);
  EXPECT_EQ(zigzag_encode(-1), 1u);
  EXPECT_EQ(zigzag_encode(1), 2u);
  EXPECT_EQ(zigzag_encode(-2), 3u);
  for (int64_t v : std::initializer_list<int64_t>{0, -1, 1, -64, 63, INT64_MIN, INT64_MAX}) {
    EXPECT_EQ(zigzag_decode(zigzag_encode(v)), v);
  }
}

}  // namespace
}  // namespace kenc
