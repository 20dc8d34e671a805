#include "common/crypto/iv_sequence.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace kenc::crypto {
namespace {

TEST(IvFields, IsLeaseNumberThenCounterBigEndian) {
  IvFields fields{0x01020304u, 0x05060708090A0B0Cull};
  GcmIv expected{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  EXPECT_EQ(fields.to_iv(), expected);
  GcmIv all_ones;
  all_ones.fill(0xFF);
  EXPECT_EQ((IvFields{0xFFFFFFFFu, ~0ull}.to_iv()), all_ones);
}

TEST(IvSequence, CountsFromZeroToBudgetThenFailsWithoutWrapping) {
  IvSequence seq(7, 3);
  for (uint64_t i = 0; i < 3; ++i) {
    auto iv = seq.next();
    ASSERT_TRUE(iv.ok());
    EXPECT_EQ(*iv, (IvFields{7, i}));
  }
  EXPECT_EQ(seq.remaining(), 0u);
  for (int i = 0; i < 3; ++i) {
    auto iv = seq.next();
    ASSERT_FALSE(iv.ok());
    EXPECT_EQ(iv.error().code, ErrorCode::kOutOfRange);
  }
}

TEST(IvSequence, ZeroBudgetGivesNothing) {
  IvSequence seq(1, 0);
  EXPECT_FALSE(seq.next().ok());
}

TEST(IvSequence, MaximalBudgetDoesNotOverflow) {
  IvSequence seq(1, ~0ull);
  EXPECT_EQ(seq.next()->counter, 0u);
  EXPECT_EQ(seq.remaining(), ~0ull - 1);
}

TEST(IvSequence, ThreadsNeverShareAnIvAndTheBudgetIsExact) {
  constexpr uint64_t kBudget = 40000;
  IvSequence seq(9, kBudget);
  std::vector<std::vector<uint64_t>> taken(4);
  std::vector<std::thread> threads;
  for (auto& mine : taken) {
    threads.emplace_back([&seq, &mine] {
      while (true) {
        auto iv = seq.next();
        if (!iv.ok()) {
          return;
        }
        mine.push_back(iv->counter);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  std::set<uint64_t> all;
  size_t total = 0;
  for (auto& mine : taken) {
    total += mine.size();
    all.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(total, kBudget);
  EXPECT_EQ(all.size(), kBudget);
  EXPECT_EQ(*all.rbegin(), kBudget - 1);
}

}  // namespace
}  // namespace kenc::crypto
