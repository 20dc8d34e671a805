#include "proxy/filters/record_encryption/dek_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace kenc::record_encryption {
namespace {

using std::chrono::milliseconds;

std::vector<uint8_t> edek(char tag) { return std::vector<uint8_t>{1, uint8_t(tag), 1, 0xAA}; }

// A deterministic "unwrap": the DEK is 32 copies of the EDEK's tag byte.
crypto::SecureBytes key_for(std::span<const uint8_t> e) {
  std::vector<uint8_t> key(32, e[1]);
  return crypto::SecureBytes(key);
}

// An unwrap that parks each request until the test completes it, as an RPC would.
struct ParkedUnwrap {
  std::mutex mutex;
  std::deque<std::pair<std::vector<uint8_t>, UnwrapDone>> parked;
  std::atomic<int> calls{0};

  UnwrapFn fn() {
    return [this](std::span<const uint8_t> e, const std::string& /*topic*/, UnwrapDone done) {
      ++calls;
      std::lock_guard lock(mutex);
      parked.emplace_back(std::vector<uint8_t>(e.begin(), e.end()), std::move(done));
    };
  }
  // Completes the oldest parked request with `result` (or the deterministic key).
  void complete_one(std::optional<Error> error = std::nullopt) {
    std::pair<std::vector<uint8_t>, UnwrapDone> next;
    {
      std::lock_guard lock(mutex);
      ASSERT_FALSE(parked.empty());
      next = std::move(parked.front());
      parked.pop_front();
    }
    if (error) {
      next.second(*error);
    } else {
      next.second(key_for(next.first));
    }
  }
};

struct FakeClock {
  std::chrono::steady_clock::time_point t{};
  std::function<std::chrono::steady_clock::time_point()> fn() {
    return [this] { return t; };
  }
};

// Collects get() results.
struct Results {
  std::mutex mutex;
  std::vector<Result<DekPtr>> got;
  DekDone callback() {
    return [this](Result<DekPtr> r) {
      std::lock_guard lock(mutex);
      got.push_back(std::move(r));
    };
  }
};

TEST(DekCache, MissUnwrapsOnceThenHits) {
  ParkedUnwrap unwrap;
  DekCache cache({}, unwrap.fn());
  Results results;
  cache.get(edek('a'), results.callback());
  EXPECT_TRUE(results.got.empty()) << "must wait for the unwrap";
  EXPECT_EQ(cache.find(edek('a')), nullptr);
  unwrap.complete_one();
  ASSERT_EQ(results.got.size(), 1u);
  ASSERT_TRUE(results.got[0].ok());
  DekPtr dek = *results.got[0];
  EXPECT_EQ(dek->key.view()[0], 'a');

  cache.get(edek('a'), results.callback());
  ASSERT_EQ(results.got.size(), 2u);  // inline on a hit
  EXPECT_EQ(*results.got[1], dek);
  EXPECT_EQ(cache.find(edek('a')), dek);
  EXPECT_EQ(unwrap.calls, 1);
  auto stats = cache.stats();
  EXPECT_EQ(stats.unwraps, 1u);
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.entries, 1u);
}

TEST(DekCache, ConcurrentMissesForOneEdekShareOneUnwrap) {
  ParkedUnwrap unwrap;
  DekCache cache({}, unwrap.fn());
  Results results;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        cache.get(edek('x'), results.callback());
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(unwrap.calls, 1);
  EXPECT_TRUE(results.got.empty());
  cache.get(edek('y'), results.callback());  // another EDEK gets its own unwrap
  EXPECT_EQ(unwrap.calls, 2);

  unwrap.complete_one();
  ASSERT_EQ(results.got.size(), 100u);
  for (auto& r : results.got) {
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, *results.got[0]) << "every waiter gets the same DEK object";
  }
  EXPECT_EQ(cache.stats().misses, 101u);
}

TEST(DekCache, RetriableFailuresAreNotRemembered) {
  ParkedUnwrap unwrap;
  DekCache cache({}, unwrap.fn());
  Results results;
  cache.get(edek('a'), results.callback());
  cache.get(edek('a'), results.callback());
  unwrap.complete_one(make_error(ErrorCode::kUnavailable, "key broker down"));
  ASSERT_EQ(results.got.size(), 2u);
  EXPECT_EQ(results.got[0].error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(results.got[1].error().code, ErrorCode::kUnavailable);

  cache.get(edek('a'), results.callback());  // retried at once
  EXPECT_EQ(unwrap.calls, 2);
  unwrap.complete_one();
  ASSERT_TRUE(results.got[2].ok());
  EXPECT_EQ(cache.stats().unwrap_failures, 1u);
}

TEST(DekCache, PermanentFailuresAreRememberedBriefly) {
  ParkedUnwrap unwrap;
  FakeClock clock;
  DekCacheOptions options;
  options.negative_ttl = milliseconds(5000);
  options.now = clock.fn();
  DekCache cache(options, unwrap.fn());
  Results results;
  cache.get(edek('g'), results.callback());
  unwrap.complete_one(make_error(ErrorCode::kNotFound, "no such KEK"));
  cache.get(edek('g'), results.callback());
  ASSERT_EQ(results.got.size(), 2u);
  EXPECT_EQ(results.got[1].error().code, ErrorCode::kNotFound);
  EXPECT_EQ(unwrap.calls, 1);
  EXPECT_EQ(cache.stats().negative_hits, 1u);

  clock.t += milliseconds(5001);
  cache.get(edek('g'), results.callback());
  EXPECT_EQ(unwrap.calls, 2) << "an expired failure is retried";
  unwrap.complete_one();
  ASSERT_TRUE(results.got[2].ok());
}

TEST(DekCache, NegativeCachingCanBeDisabled) {
  ParkedUnwrap unwrap;
  DekCacheOptions options;
  options.negative_ttl = milliseconds(0);
  DekCache cache(options, unwrap.fn());
  Results results;
  cache.get(edek('g'), results.callback());
  unwrap.complete_one(make_error(ErrorCode::kNotFound, "no such KEK"));
  cache.get(edek('g'), results.callback());
  EXPECT_EQ(unwrap.calls, 2);
}

TEST(DekCache, EvictsLeastRecentlyUsedBeyondMaxEntries) {
  ParkedUnwrap unwrap;
  DekCacheOptions options;
  options.max_entries = 2;
  DekCache cache(options, unwrap.fn());
  Results results;
  for (char c : {'a', 'b'}) {
    cache.get(edek(c), results.callback());
    unwrap.complete_one();
  }
  ASSERT_NE(cache.find(edek('a')), nullptr);  // a is now the most recently used
  std::weak_ptr<const Dek> b = cache.find(edek('b'));
  cache.find(edek('a'));
  results.got.clear();  // drop the test's own references

  cache.get(edek('c'), results.callback());
  unwrap.complete_one();
  EXPECT_NE(cache.find(edek('a')), nullptr);
  EXPECT_NE(cache.find(edek('c')), nullptr);
  EXPECT_EQ(cache.find(edek('b')), nullptr);
  EXPECT_TRUE(b.expired()) << "an evicted DEK nobody holds is destroyed, wiping its key";
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_EQ(cache.stats().entries, 2u);
}

TEST(DekCache, DropsIdleEntries) {
  ParkedUnwrap unwrap;
  FakeClock clock;
  DekCacheOptions options;
  options.idle_ttl = milliseconds(1000);
  options.now = clock.fn();
  DekCache cache(options, unwrap.fn());
  Results results;
  for (char c : {'a', 'b'}) {
    cache.get(edek(c), results.callback());
    unwrap.complete_one();
  }
  results.got.clear();
  clock.t += milliseconds(600);
  EXPECT_NE(cache.find(edek('a')), nullptr);  // refreshes a only
  clock.t += milliseconds(600);
  cache.evict_idle();
  EXPECT_EQ(cache.stats().entries, 1u);
  EXPECT_NE(cache.find(edek('a')), nullptr);
  EXPECT_EQ(cache.find(edek('b')), nullptr);
  clock.t += milliseconds(1001);
  EXPECT_EQ(cache.find(edek('a')), nullptr) << "an idle entry found by a lookup is dropped";
  EXPECT_EQ(cache.stats().entries, 0u);
}

TEST(DekCache, RejectsKeysOfTheWrongSize) {
  DekCache cache({}, [](std::span<const uint8_t>, const std::string&, UnwrapDone done) {
    done(crypto::SecureBytes(std::vector<uint8_t>(16, 1)));
  });
  Results results;
  cache.get(edek('a'), results.callback());
  ASSERT_EQ(results.got.size(), 1u);
  EXPECT_EQ(results.got[0].error().code, ErrorCode::kInternal);
  EXPECT_EQ(cache.stats().entries, 0u);
}

TEST(DekCache, InlineCompletionAndDoubleCompletionAreSafe) {
  int calls = 0;
  DekCache cache({}, [&calls](std::span<const uint8_t> e, const std::string&, UnwrapDone done) {
    ++calls;
    done(key_for(e));
    done(make_error(ErrorCode::kInternal, "a buggy second completion"));  // ignored
  });
  Results results;
  cache.get(edek('q'), results.callback());
  ASSERT_EQ(results.got.size(), 1u);
  EXPECT_TRUE(results.got[0].ok());
  cache.get(edek('q'), results.callback());
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(results.got[1].ok());
}

TEST(DekCache, CompletionAfterTheCacheIsGoneStillAnswersWaiters) {
  ParkedUnwrap unwrap;
  Results results;
  {
    DekCache cache({}, unwrap.fn());
    cache.get(edek('z'), results.callback());
  }
  unwrap.complete_one();
  ASSERT_EQ(results.got.size(), 1u);
  EXPECT_TRUE(results.got[0].ok());
}

// Many threads, many EDEKs, unwraps completing on other threads: every caller gets the key
// of its own EDEK, and concurrent misses are coalesced.
TEST(DekCache, StressFromSeveralThreads) {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::pair<std::vector<uint8_t>, UnwrapDone>> queue;
  bool stop = false;
  std::atomic<int> unwraps{0};
  std::vector<std::thread> completers;
  for (int i = 0; i < 2; ++i) {
    completers.emplace_back([&] {
      while (true) {
        std::unique_lock lock(mutex);
        cv.wait(lock, [&] { return stop || !queue.empty(); });
        if (queue.empty()) {
          return;
        }
        auto job = std::move(queue.front());
        queue.pop_front();
        lock.unlock();
        std::this_thread::yield();
        job.second(key_for(job.first));
      }
    });
  }
  DekCacheOptions options;
  options.max_entries = 8;  // smaller than the EDEK set, so eviction happens too
  DekCache cache(options, [&](std::span<const uint8_t> e, const std::string&, UnwrapDone done) {
    ++unwraps;
    std::lock_guard lock(mutex);
    queue.emplace_back(std::vector<uint8_t>(e.begin(), e.end()), std::move(done));
    cv.notify_one();
  });

  std::atomic<int> answered{0}, wrong{0};
  constexpr int kThreads = 4, kPerThread = 2000;
  std::vector<std::thread> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        char c = static_cast<char>('A' + (i * 7 + t) % 16);
        cache.get(edek(c), [&, c](Result<DekPtr> r) {
          if (!r.ok() || (*r)->key.view()[0] != static_cast<uint8_t>(c)) {
            ++wrong;
          }
          ++answered;
        });
      }
    });
  }
  for (auto& th : callers) {
    th.join();
  }
  while (answered.load() < kThreads * kPerThread) {
    std::this_thread::yield();
  }
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  cv.notify_all();
  for (auto& th : completers) {
    th.join();
  }
  EXPECT_EQ(wrong.load(), 0);
  auto stats = cache.stats();
  EXPECT_EQ(stats.hits + stats.misses, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(stats.unwraps, static_cast<uint64_t>(unwraps.load()));
  EXPECT_LT(stats.unwraps, stats.misses + 1);
  EXPECT_LE(stats.entries, 8u);
}

}  // namespace
}  // namespace kenc::record_encryption
