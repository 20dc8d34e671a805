#include "keybroker/dek/dek_budget.h"

#include <gtest/gtest.h>

namespace kenc::keybroker::dek {
namespace {

TEST(DekBudget, GrantsTheLeaseSizeByDefaultAndNumbersLeasesFromZero) {
  DekBudget budget(uint64_t{1} << 32, uint64_t{1} << 20);
  auto first = budget.carve(0);
  auto second = budget.carve(0);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->lease_number, 0u);
  EXPECT_EQ(second->lease_number, 1u);
  EXPECT_EQ(first->budget, uint64_t{1} << 20);
  EXPECT_EQ(budget.remaining(), (uint64_t{1} << 32) - (uint64_t{2} << 20));
}

TEST(DekBudget, GrantsLessWhenLessIsRequestedAndNeverMoreThanTheLeaseSize) {
  DekBudget budget(1000, 100);
  EXPECT_EQ(budget.carve(7)->budget, 7u);
  EXPECT_EQ(budget.carve(5000)->budget, 100u);
  EXPECT_EQ(budget.remaining(), 893u);
}

TEST(DekBudget, TheLastLeaseGetsWhatIsLeftThenTheDekIsExhausted) {
  DekBudget budget(250, 100);
  EXPECT_EQ(budget.carve(0)->budget, 100u);
  EXPECT_EQ(budget.carve(0)->budget, 100u);
  EXPECT_FALSE(budget.exhausted());
  EXPECT_EQ(budget.carve(0)->budget, 50u);
  EXPECT_TRUE(budget.exhausted());
  EXPECT_FALSE(budget.carve(1).has_value());
  EXPECT_EQ(budget.leases_granted(), 3u);
}

TEST(DekBudget, RunningOutOfLeaseNumbersExhaustsTheDek) {
  // Plenty of budget left, but only three lease numbers: a fourth lease would repeat an IV prefix.
  DekBudget budget(uint64_t{1} << 40, 1, 3);
  EXPECT_EQ(budget.carve(0)->lease_number, 0u);
  EXPECT_EQ(budget.carve(0)->lease_number, 1u);
  EXPECT_EQ(budget.carve(0)->lease_number, 2u);
  EXPECT_TRUE(budget.exhausted());
  EXPECT_FALSE(budget.carve(0).has_value());
  EXPECT_EQ(DekBudget::kLeaseNumbers, uint64_t{1} << 32);
}

}  // namespace
}  // namespace kenc::keybroker::dek
