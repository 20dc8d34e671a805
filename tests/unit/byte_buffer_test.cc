#include "common/base/byte_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <list>
#include <vector>

#include "common/base/shared_bytes.h"

namespace kenc {
namespace {

TEST(ByteBuffer, GrowingLeavesTheNewBytesUnwrittenAndKeepsTheOldOnes) {
  ByteBuffer buffer = {1, 2, 3};
  buffer.resize(1 << 20);  // reallocates: the first bytes move along
  EXPECT_GE(buffer.capacity(), size_t{1} << 20);
  EXPECT_EQ(buffer[0], 1);
  EXPECT_EQ(buffer[2], 3);
  std::memset(buffer.data() + 3, 9, 2);
  buffer.resize(5);  // shrinking keeps the capacity
  EXPECT_GE(buffer.capacity(), size_t{1} << 20);
  EXPECT_EQ(buffer, (std::vector<uint8_t>{1, 2, 3, 9, 9}));
  // Bytes written before a shrink are still there after growing again: resize does not write.
  buffer.resize(3);
  buffer.resize(5);
  EXPECT_EQ(buffer, (std::vector<uint8_t>{1, 2, 3, 9, 9}));
}

TEST(ByteBuffer, AppendsAndInsertsLikeAVector) {
  ByteBuffer buffer;
  EXPECT_TRUE(buffer.empty());
  for (uint8_t i = 0; i < 100; ++i) buffer.push_back(i);  // grows geometrically
  EXPECT_EQ(buffer.size(), 100u);
  EXPECT_EQ(buffer.back(), 99);
  buffer.clear();
  const std::vector<uint8_t> tail = {4, 5};
  buffer.insert(buffer.end(), tail.begin(), tail.end());
  const std::vector<uint8_t> head = {1, 2};
  buffer.insert(buffer.begin(), head.begin(), head.end());
  const std::list<uint8_t> middle = {3};  // not contiguous
  buffer.insert(buffer.begin() + 2, middle.begin(), middle.end());
  EXPECT_EQ(buffer, (std::vector<uint8_t>{1, 2, 3, 4, 5}));
  // From itself, with a reallocation on the way.
  buffer.insert(buffer.end(), buffer.begin(), buffer.end());
  EXPECT_EQ(buffer, (std::vector<uint8_t>{1, 2, 3, 4, 5, 1, 2, 3, 4, 5}));
  EXPECT_FALSE(buffer == (std::vector<uint8_t>{1, 2, 3}));
  buffer.append(buffer.data() + 8, 2);  // also from itself
  EXPECT_EQ(buffer, (std::vector<uint8_t>{1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 4, 5}));
}

TEST(ByteBuffer, CopiesAreDeepAndMovesTakeTheMemory) {
  ByteBuffer original = {7, 8, 9};
  ByteBuffer copy = original;
  copy[0] = 0;
  EXPECT_EQ(original, (ByteBuffer{7, 8, 9}));
  const uint8_t* data = original.data();
  ByteBuffer moved = std::move(original);
  EXPECT_EQ(moved.data(), data);
  EXPECT_TRUE(original.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  copy = moved;
  EXPECT_EQ(copy, moved);
  copy = std::move(moved);
  EXPECT_EQ(copy.data(), data);
}

TEST(ByteBuffer, SharedBytesKeepsItAliveWithoutACopy) {
  ByteBuffer buffer = {5, 6, 7, 8};
  const uint8_t* data = buffer.data();
  SharedBytes shared(std::move(buffer));
  EXPECT_EQ(shared.data(), data);  // moved, not copied
  const SharedBytes slice = shared.slice(1, 2);
  shared = SharedBytes();
  EXPECT_EQ(slice, SharedBytes(std::vector<uint8_t>{6, 7}));
}

}  // namespace
}  // namespace kenc
