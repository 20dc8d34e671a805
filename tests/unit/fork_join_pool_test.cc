#include "common/base/fork_join_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace kenc {
namespace {

TEST(ForkJoinPoolTest, EveryItemRunsExactlyOnce) {
  ForkJoinPool pool(3);
  std::vector<std::atomic<int>> calls(1000);
  pool.run(calls.size(), [&](size_t i) { calls[i].fetch_add(1); });
  for (size_t i = 0; i < calls.size(); ++i) {
    ASSERT_EQ(calls[i].load(), 1) << "item " << i;
  }
}

TEST(ForkJoinPoolTest, WithoutHelpersTheCallerRunsEveryItem) {
  ForkJoinPool pool(0);
  const auto caller = std::this_thread::get_id();
  size_t ran = 0;
  pool.run(5, [&](size_t) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    ++ran;
  });
  EXPECT_EQ(ran, 5u);
}

TEST(ForkJoinPoolTest, AHelperRunsItemsAtTheSameTimeAsTheCaller) {
  // Item 0 and item 1 each wait until the other has started: that only ends if two threads
  // run them at once (the caller takes one, the helper the other).
  ForkJoinPool pool(1);
  std::atomic<int> started{0};
  std::atomic<bool> overlapped{true};
  std::mutex ids_mutex;
  std::set<std::thread::id> ids;
  pool.run(2, [&](size_t) {
    {
      std::lock_guard lock(ids_mutex);
      ids.insert(std::this_thread::get_id());
    }
    started.fetch_add(1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (started.load() < 2) {
      if (std::chrono::steady_clock::now() > deadline) {
        overlapped = false;
        return;
      }
      std::this_thread::yield();
    }
  });
  EXPECT_TRUE(overlapped.load());
  EXPECT_EQ(ids.size(), 2u);
}

TEST(ForkJoinPoolTest, SeveralCallersShareTheHelpers) {
  ForkJoinPool pool(2);
  constexpr int kCallers = 4;
  constexpr int kRounds = 50;
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        std::atomic<long> sum{0};
        pool.run(64, [&](size_t i) { sum.fetch_add(static_cast<long>(i)); });
        // All items of this caller's job have ended when run() returns.
        EXPECT_EQ(sum.load(), 64 * 63 / 2);
        total.fetch_add(sum.load());
      }
    });
  }
  for (auto& t : callers) {
    t.join();
  }
  EXPECT_EQ(total.load(), static_cast<long>(kCallers) * kRounds * (64 * 63 / 2));
}

TEST(ForkJoinPoolTest, AnExceptionReachesTheCallerAfterStartedItemsEnded) {
  ForkJoinPool pool(2);
  std::atomic<int> running{0};
  std::atomic<int> max_after_return{0};
  EXPECT_THROW(pool.run(100,
                        [&](size_t i) {
                          running.fetch_add(1);
                          std::this_thread::sleep_for(std::chrono::microseconds(100));
                          running.fetch_sub(1);
                          if (i == 3) {
                            throw std::runtime_error("item 3 failed");
                          }
                        }),
               std::runtime_error);
  max_after_return = running.load();
  EXPECT_EQ(max_after_return.load(), 0);
  // The pool stays usable.
  std::atomic<int> ran{0};
  pool.run(10, [&](size_t) { ran.fetch_add(1); });
  EXPECT_EQ(ran.load(), 10);
}

TEST(ForkJoinPoolTest, EmptyJobReturnsAtOnce) {
  ForkJoinPool pool(1);
  pool.run(0, [](size_t) { FAIL() << "no item to run"; });
}

}  // namespace
}  // namespace kenc
