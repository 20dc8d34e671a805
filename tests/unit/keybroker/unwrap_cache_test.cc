#include "keybroker/dek/unwrap_cache.h"

#include <gtest/gtest.h>

namespace kenc::keybroker::dek {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<UnwrappedDek> make_dek(uint8_t fill) {
  auto dek = std::make_shared<UnwrappedDek>();
  dek->dek = crypto::SecureBytes(32);
  for (auto& b : dek->dek.mutable_view()) {
    b = fill;
  }
  dek->kek_id = "k";
  dek->kek_version = 1;
  return dek;
}

TEST(UnwrapCache, EvictsTheLeastRecentlyUsedAndDropsItsKey) {
  UnwrapCache cache(2, 1h);
  auto now = UnwrapCache::Clock::now();
  std::weak_ptr<const UnwrappedDek> a_alive;
  {
    auto a = make_dek(0xA1);
    a_alive = a;
    cache.insert("a", std::move(a), now);
  }
  cache.insert("b", make_dek(0xB2), now);
  ASSERT_NE(cache.find("a", now), nullptr);  // a is now the most recently used
  cache.insert("c", make_dek(0xC3), now);    // evicts b
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.find("b", now), nullptr);
  EXPECT_NE(cache.find("c", now), nullptr);
  EXPECT_FALSE(a_alive.expired());
  cache.insert("d", make_dek(0xD4), now);  // evicts a (c was used after it)
  EXPECT_EQ(cache.find("a", now), nullptr);
  // Nobody holds a any more: its UnwrappedDek, and with it the SecureBytes that wipes the key
  // in its destructor, is gone.
  EXPECT_TRUE(a_alive.expired());
}

TEST(UnwrapCache, AnEntryInUseOutlivesItsEvictionUntilReleased) {
  UnwrapCache cache(1, 1h);
  auto now = UnwrapCache::Clock::now();
  cache.insert("a", make_dek(1), now);
  auto held = cache.find("a", now);
  std::weak_ptr<const UnwrappedDek> watch = held;
  cache.insert("b", make_dek(2), now);
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(held->dek.view()[0], 1);
  held.reset();
  EXPECT_TRUE(watch.expired());
}

TEST(UnwrapCache, EntriesExpireAfterTheirTtl) {
  UnwrapCache cache(10, 5min);
  auto now = UnwrapCache::Clock::now();
  std::weak_ptr<const UnwrappedDek> watch;
  {
    auto a = make_dek(1);
    watch = a;
    cache.insert("a", std::move(a), now);
  }
  EXPECT_NE(cache.find("a", now + 4min), nullptr);
  EXPECT_EQ(cache.find("a", now + 5min), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(watch.expired());
}

TEST(UnwrapCache, ZeroCapacityCachesNothing) {
  UnwrapCache cache(0, 1h);
  auto now = UnwrapCache::Clock::now();
  cache.insert("a", make_dek(1), now);
  EXPECT_EQ(cache.find("a", now), nullptr);
}

}  // namespace
}  // namespace kenc::keybroker::dek
