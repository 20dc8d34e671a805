#include "common/crypto/secure_bytes.h"

#include <gtest/gtest.h>

#include <array>

namespace kenc::crypto {
namespace {

TEST(SecureBytes, HoldsACopyOfTheBytes) {
  std::array<uint8_t, 4> raw{1, 2, 3, 4};
  SecureBytes key(raw);
  raw[0] = 9;
  ASSERT_EQ(key.size(), 4u);
  EXPECT_EQ(key.view()[0], 1);
}

TEST(SecureBytes, MoveLeavesTheSourceEmpty) {
  std::array<uint8_t, 2> raw{7, 8};
  SecureBytes a(raw);
  SecureBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(b.view()[1], 8);
}

TEST(SecureBytes, WipeZeroesAndEmpties) {
  SecureBytes key(32);
  key.mutable_view()[5] = 0xAB;
  const uint8_t* data = key.view().data();
  key.wipe();
  EXPECT_TRUE(key.empty());
  // The vector keeps its storage after clear(), so the old bytes can be inspected.
  EXPECT_EQ(data[5], 0);
}

TEST(SecureBytes, CloneIsIndependent) {
  std::array<uint8_t, 3> raw{1, 2, 3};
  SecureBytes a(raw);
  SecureBytes b = a.clone();
  a.mutable_view()[0] = 42;
  EXPECT_EQ(b.view()[0], 1);
}

}  // namespace
}  // namespace kenc::crypto
