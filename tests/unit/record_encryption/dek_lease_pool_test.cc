#include "proxy/filters/record_encryption/dek_lease_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <vector>

namespace kenc::record_encryption {
namespace {

using Clock = std::chrono::steady_clock;

// A key broker whose answers the test releases one at a time.
struct ParkedKeyBroker {
  std::deque<LeaseDone> parked;
  int calls = 0;
  uint32_t next_lease_number = 0;

  LeaseFn fn() {
    return [this](const std::string&, const std::string&, uint64_t, LeaseDone done) {
      ++calls;
      parked.push_back(std::move(done));
    };
  }
  void grant(uint64_t budget, std::chrono::seconds ttl = std::chrono::hours(1)) {
    ASSERT_FALSE(parked.empty());
    LeaseDone done = std::move(parked.front());
    parked.pop_front();
    GrantedLease g;
    g.dek = crypto::SecureBytes(std::vector<uint8_t>(32, 1));
    g.edek = {1, 2, 3};
    g.lease_number = next_lease_number++;
    g.encryption_budget = budget;
    g.expires_at = std::chrono::system_clock::now() + ttl;
    done(std::move(g));
  }
  void fail(Error e) {
    ASSERT_FALSE(parked.empty());
    LeaseDone done = std::move(parked.front());
    parked.pop_front();
    done(std::move(e));
  }
};

struct Results {
  std::vector<Result<LeaseReservation>> got;
  ReservationDone callback() {
    return [this](Result<LeaseReservation> r) { got.push_back(std::move(r)); };
  }
};

TEST(DekLeasePool, ConcurrentFirstReservationsShareOneKeyBrokerCall) {
  ParkedKeyBroker kb;
  DekLeasePool pool({}, kb.fn());
  Results results;
  auto fast = pool.try_reserve("kek", 5, "t");
  ASSERT_TRUE(fast.ok());
  EXPECT_FALSE(fast->has_value()) << "no lease yet";
  for (int i = 0; i < 10; ++i) pool.reserve("kek", 5, "t", results.callback());
  EXPECT_EQ(kb.calls, 1);
  kb.grant(1000);
  ASSERT_EQ(results.got.size(), 10u);
  std::vector<uint64_t> firsts;
  for (auto& r : results.got) {
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->count, 5u);
    EXPECT_EQ(r->first.lease_number, 0u);
    firsts.push_back(r->first.counter);
  }
  std::sort(firsts.begin(), firsts.end());
  for (size_t i = 0; i < firsts.size(); ++i) EXPECT_EQ(firsts[i], i * 5) << "IV ranges overlap";
}

TEST(DekLeasePool, ReportsEveryGrantedLease) {
  ParkedKeyBroker kb;
  std::vector<std::vector<uint8_t>> granted;
  DekLeasePoolOptions options;
  options.on_granted = [&granted](const DekPtr& dek, std::span<const uint8_t> edek) {
    EXPECT_EQ(dek->key.size(), 32u);
    granted.emplace_back(edek.begin(), edek.end());
  };
  DekLeasePool pool(options, kb.fn());
  Results results;
  pool.reserve("kek", 1, "t", results.callback());
  kb.grant(10);
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_EQ(granted[0], (std::vector<uint8_t>{1, 2, 3}));
}

TEST(DekLeasePool, RenewsInTheBackgroundBeforeTheBudgetRunsOut) {
  ParkedKeyBroker kb;
  DekLeasePool pool({}, kb.fn());
  Results results;
  pool.reserve("kek", 10, "t", results.callback());
  kb.grant(100);
  // 10 + 60 used, 30 left: above a quarter, no renewal yet.
  auto a = pool.try_reserve("kek", 60, "t");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ(kb.calls, 1);
  // 20 left: at or below a quarter of the budget, a renewal starts; the batch is not held up.
  auto b = pool.try_reserve("kek", 10, "t");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ(kb.calls, 2);
  auto c = pool.try_reserve("kek", 5, "t");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ(kb.calls, 2) << "one renewal at a time";
  kb.grant(100);
  auto d = pool.try_reserve("kek", 50, "t");
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->first.lease_number, 1u) << "the renewed lease is in use";
  EXPECT_EQ((*d)->first.counter, 0u);
}

TEST(DekLeasePool, AnExhaustedLeaseMakesTheNextBatchWaitForAFreshOne) {
  ParkedKeyBroker kb;
  DekLeasePool pool({}, kb.fn());
  Results results;
  pool.reserve("kek", 8, "t", results.callback());
  kb.grant(10);
  pool.reserve("kek", 5, "t", results.callback());  // 2 left: must wait
  ASSERT_EQ(results.got.size(), 1u);
  kb.grant(10);
  ASSERT_EQ(results.got.size(), 2u);
  ASSERT_TRUE(results.got[1].ok());
  EXPECT_EQ(results.got[1]->first.lease_number, 1u);
}

TEST(DekLeasePool, ABatchLargerThanALeaseIsAnError) {
  ParkedKeyBroker kb;
  DekLeasePool pool({}, kb.fn());
  Results results;
  pool.reserve("kek", 50, "t", results.callback());
  kb.grant(10);
  ASSERT_EQ(results.got.size(), 1u);
  ASSERT_FALSE(results.got[0].ok());
  EXPECT_EQ(results.got[0].error().code, ErrorCode::kOutOfRange);
}

TEST(DekLeasePool, LastingFailuresAreRememberedRetriableOnesAreNot) {
  ParkedKeyBroker kb;
  Clock::time_point now = Clock::now();
  DekLeasePoolOptions options;
  options.now = [&now] { return now; };
  DekLeasePool pool(options, kb.fn());
  Results results;
  pool.reserve("gone", 1, "t", results.callback());
  kb.fail(make_error(ErrorCode::kNotFound, "no KEK"));
  ASSERT_EQ(results.got.size(), 1u);
  EXPECT_EQ(results.got[0].error().code, ErrorCode::kNotFound);
  auto remembered = pool.try_reserve("gone", 1, "t");
  ASSERT_FALSE(remembered.ok());
  EXPECT_EQ(remembered.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(kb.calls, 1);
  now += std::chrono::seconds(6);  // past negative_ttl: asked again
  pool.reserve("gone", 1, "t", results.callback());
  EXPECT_EQ(kb.calls, 2);
  kb.fail(make_error(ErrorCode::kUnavailable, "down"));
  EXPECT_EQ(results.got.back().error().code, ErrorCode::kUnavailable);
  pool.reserve("gone", 1, "t", results.callback());
  EXPECT_EQ(kb.calls, 3) << "a retriable failure is retried at once";
  kb.grant(10);
  EXPECT_TRUE(results.got.back().ok());
}

TEST(DekLeasePool, AnExpiredLeaseIsNotUsed) {
  ParkedKeyBroker kb;
  Clock::time_point now = Clock::now();
  DekLeasePoolOptions options;
  options.now = [&now] { return now; };
  DekLeasePool pool(options, kb.fn());
  Results results;
  pool.reserve("kek", 1, "t", results.callback());
  kb.grant(1000, std::chrono::seconds(60));
  now += std::chrono::seconds(61);
  auto r = pool.try_reserve("kek", 1, "t");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

// A batch larger than a whole lease can never be served: asking the key broker for another
// lease per such batch would let one client turn each request into a key-broker call (and
// throw away the rest of the current lease each time).
TEST(DekLeasePool, ABatchLargerThanALeaseFailsWithoutAskingForAnotherLease) {
  ParkedKeyBroker kb;
  DekLeasePool pool({}, kb.fn());
  Results results;
  pool.reserve("kek", 5, "t", results.callback());
  kb.grant(1000);
  ASSERT_EQ(results.got.size(), 1u);
  ASSERT_TRUE(results.got[0].ok());

  for (int i = 0; i < 3; ++i) {
    auto fast = pool.try_reserve("kek", 1001, "t");
    ASSERT_TRUE(fast.ok());
    EXPECT_FALSE(fast->has_value());
    pool.reserve("kek", 1001, "t", results.callback());
  }
  EXPECT_EQ(kb.calls, 1) << "an oversized batch asked the key broker for a lease";
  ASSERT_EQ(results.got.size(), 4u);
  for (size_t i = 1; i < results.got.size(); ++i) {
    ASSERT_FALSE(results.got[i].ok());
    EXPECT_EQ(results.got[i].error().code, ErrorCode::kOutOfRange);
  }
  // The current lease still serves ordinary batches, from where it was.
  auto next = pool.try_reserve("kek", 5, "t");
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->first.counter, 5u);
  EXPECT_EQ((*next)->first.lease_number, 0u);
}

// The lease's expiry is the key broker's wall clock. With this host's clock ahead by more than a
// lease's lifetime, every lease arrives expired: the waiting batches must get a (retriable)
// error, not wait forever while the pool asks the key broker again and again.
TEST(DekLeasePool, ALeaseArrivingExpiredFailsTheWaitersInsteadOfAskingAgainForever) {
  ParkedKeyBroker kb;
  DekLeasePool pool({}, kb.fn());
  Results results;
  pool.reserve("kek", 5, "t", results.callback());
  kb.grant(1000, std::chrono::seconds(-10));
  EXPECT_EQ(kb.calls, 1) << "the pool asked for another lease right away";
  ASSERT_EQ(results.got.size(), 1u);
  ASSERT_FALSE(results.got[0].ok());
  EXPECT_EQ(results.got[0].error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace kenc::record_encryption
