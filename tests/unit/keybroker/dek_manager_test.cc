#include "keybroker/dek/dek_manager.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <set>
#include <thread>

#include "common/crypto/edek.h"
#include "keybroker/kms/local/local_kms.h"
#include "tests/unit/keybroker/counting_kms.h"
#include "tests/unit/keybroker/temp_dir.h"

namespace kenc::keybroker::dek {
namespace {

using namespace std::chrono_literals;
using keybroker::testing::CountingKms;
using keybroker::testing::TempDir;

// A steady clock that tests can move forward.
struct ManualClock {
  std::atomic<int64_t> offset_ms{0};
  DekManager::Clock::time_point now() const {
    return DekManager::Clock::now() + std::chrono::milliseconds(offset_ms.load());
  }
  void advance(std::chrono::milliseconds d) { offset_ms += d.count(); }
};

class DekManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = kms::LocalKms::open({dir_.path() / "keks.json", true});
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    local_ = std::move(opened.value());
  }

  std::unique_ptr<DekManager> make(DekPolicy policy, std::chrono::milliseconds kms_delay = {}) {
    counting_ = std::make_unique<CountingKms>(*local_, kms_delay);
    return std::make_unique<DekManager>(*counting_, policy, [this] { return clock_.now(); });
  }

  static DekManager::Clock::time_point deadline() { return DekManager::Clock::now() + 10s; }

  TempDir dir_;
  std::unique_ptr<kms::LocalKms> local_;
  std::unique_ptr<CountingKms> counting_;
  ManualClock clock_;
};

TEST_F(DekManagerTest, LeaseThenUnwrapGivesTheSameDek) {
  auto manager = make({});
  auto lease = manager->lease("orders", 0, deadline());
  ASSERT_TRUE(lease.ok()) << lease.error().to_string();
  EXPECT_EQ(lease->dek->dek.size(), 32u);
  EXPECT_EQ(lease->encryption_budget, uint64_t{1} << 20);
  EXPECT_EQ(lease->dek->kek_id, "orders");
  EXPECT_EQ(lease->dek->kek_version, 1u);
  EXPECT_EQ(lease->dek->dek_id, dek_id_of(lease->edek));
  auto parsed = crypto::parse_edek(lease->edek);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->kek_id, "orders");

  // A second manager (another broker, or this one after a restart) must go to the KMS.
  auto other = make({});
  auto unwrapped = other->unwrap(lease->edek, deadline());
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.error().to_string();
  EXPECT_EQ(counting_->unwrap_calls.load(), 1);
  EXPECT_TRUE(std::ranges::equal((*unwrapped)->dek.view(), lease->dek->dek.view()));
  EXPECT_EQ((*unwrapped)->dek_id, lease->dek->dek_id);
}

TEST_F(DekManagerTest, TheBrokerThatLeasedADekUnwrapsItFromItsCache) {
  auto manager = make({});
  auto lease = manager->lease("orders", 0, deadline());
  ASSERT_TRUE(lease.ok());
  auto unwrapped = manager->unwrap(lease->edek, deadline());
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_EQ(counting_->unwrap_calls.load(), 0);
  EXPECT_EQ(manager->stats().unwrap_cache_hits, 1u);
}

TEST_F(DekManagerTest, UnknownKekAndBadEdekAreClearErrors) {
  auto strict = kms::LocalKms::open({dir_.path() / "strict.json", false});
  ASSERT_TRUE(strict.ok());
  DekManager manager(**strict, {});
  auto lease = manager.lease("missing", 0, deadline());
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().code, ErrorCode::kNotFound);
  std::vector<uint8_t> garbage{200, 1, 2};
  auto unwrapped = manager.unwrap(garbage, deadline());
  ASSERT_FALSE(unwrapped.ok());
  EXPECT_NE(unwrapped.error().code, ErrorCode::kInternal);
}

TEST_F(DekManagerTest, LeaseNumbersAreUniqueUnderConcurrentRequestsFrom8Threads) {
  DekPolicy policy;
  policy.lease_size = 16;
  policy.max_encryptions_per_dek = 16 * 300;  // several DEKs get used up on the way
  auto manager = make(policy);
  constexpr int kThreads = 8;
  constexpr int kLeasesPerThread = 250;
  std::vector<std::vector<std::pair<std::string, uint32_t>>> seen(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLeasesPerThread; ++i) {
        auto lease = manager->lease("orders", 0, deadline());
        if (!lease.ok()) {
          ++failures;
          continue;
        }
        seen[t].emplace_back(to_hex(lease->dek->dek_id), lease->lease_number);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(failures.load(), 0);
  std::set<std::pair<std::string, uint32_t>> unique;
  std::set<std::string> deks;
  for (const auto& list : seen) {
    for (const auto& pair : list) {
      EXPECT_TRUE(unique.insert(pair).second)
          << "lease number " << pair.second << " repeated under DEK " << pair.first;
      deks.insert(pair.first);
    }
  }
  EXPECT_EQ(unique.size(), size_t{kThreads * kLeasesPerThread});
  // 2,000 leases of 300 per DEK: exactly 7 DEKs, each generated once.
  EXPECT_EQ(deks.size(), 7u);
  EXPECT_EQ(counting_->generate_calls.load(), 7);
}

TEST_F(DekManagerTest, ADekRetiresWhenItsBudgetIsExhausted) {
  DekPolicy policy;
  policy.lease_size = 100;
  policy.max_encryptions_per_dek = 250;
  auto manager = make(policy);
  auto a = manager->lease("orders", 0, deadline());
  auto b = manager->lease("orders", 0, deadline());
  auto c = manager->lease("orders", 0, deadline());
  auto d = manager->lease("orders", 0, deadline());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ(a->dek->dek_id, c->dek->dek_id);
  EXPECT_EQ(c->encryption_budget, 50u);
  EXPECT_EQ(c->lease_number, 2u);
  EXPECT_NE(d->dek->dek_id, a->dek->dek_id);
  EXPECT_EQ(d->lease_number, 0u);
  EXPECT_EQ(d->encryption_budget, 100u);
  EXPECT_EQ(counting_->generate_calls.load(), 2);
}

TEST_F(DekManagerTest, ADekRetiresAtMaxAgeAndLeasesNeverOutliveIt) {
  DekPolicy policy;
  policy.max_dek_age = 10min;
  policy.max_lease_duration = 1h;
  auto manager = make(policy);
  auto before = std::chrono::system_clock::now();
  auto first = manager->lease("orders", 0, deadline());
  ASSERT_TRUE(first.ok());
  EXPECT_LE(first->expires_at, before + 10min + 5s);
  EXPECT_GE(first->expires_at, before + 10min - 5s);
  clock_.advance(9min);
  auto same = manager->lease("orders", 0, deadline());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->dek->dek_id, first->dek->dek_id);
  EXPECT_LE(same->expires_at, std::chrono::system_clock::now() + 1min + 5s);
  clock_.advance(1min);
  auto fresh = manager->lease("orders", 0, deadline());
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->dek->dek_id, first->dek->dek_id);
  EXPECT_EQ(fresh->lease_number, 0u);
}

TEST_F(DekManagerTest, AKekRotationIsPickedUpAtTheNextRefreshAndOldEdeksStillUnwrap) {
  DekPolicy policy;
  policy.kek_refresh_interval = 30s;
  auto manager = make(policy);
  auto old_lease = manager->lease("orders", 0, deadline());
  ASSERT_TRUE(old_lease.ok());
  ASSERT_TRUE(local_->rotate_kek("orders").ok());
  // Within the refresh interval the broker does not ask the KMS again.
  auto still_old = manager->lease("orders", 0, deadline());
  ASSERT_TRUE(still_old.ok());
  EXPECT_EQ(still_old->dek->dek_id, old_lease->dek->dek_id);
  EXPECT_EQ(counting_->describe_calls.load(), 0);
  clock_.advance(31s);
  auto rotated = manager->lease("orders", 0, deadline());
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(counting_->describe_calls.load(), 1);
  EXPECT_EQ(rotated->dek->kek_version, 2u);
  EXPECT_NE(rotated->dek->dek_id, old_lease->dek->dek_id);
  // Without a rotation a refresh keeps the DEK.
  clock_.advance(31s);
  auto kept = manager->lease("orders", 0, deadline());
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->dek->dek_id, rotated->dek->dek_id);
  EXPECT_EQ(counting_->describe_calls.load(), 2);

  auto fresh_broker = make({});
  auto unwrapped = fresh_broker->unwrap(old_lease->edek, deadline());
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.error().to_string();
  EXPECT_EQ((*unwrapped)->kek_version, 1u);
  EXPECT_TRUE(std::ranges::equal((*unwrapped)->dek.view(), old_lease->dek->dek.view()));
}

TEST_F(DekManagerTest, AThousandConcurrentLeasesCauseExactlyOneGenerateDek) {
  auto manager = make({}, 200ms);  // a slow KMS: every request arrives while the call runs
  constexpr int kRequests = 1000;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::mutex mu;
  std::set<uint32_t> numbers;
  std::set<std::string> deks;
  threads.reserve(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&] {
      auto lease = manager->lease("orders", 0, deadline());
      if (!lease.ok()) {
        return;
      }
      ++ok;
      std::lock_guard lock(mu);
      numbers.insert(lease->lease_number);
      deks.insert(to_hex(lease->dek->dek_id));
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), kRequests);
  EXPECT_EQ(counting_->generate_calls.load(), 1);
  EXPECT_EQ(deks.size(), 1u);
  EXPECT_EQ(numbers.size(), size_t{kRequests});
}

TEST_F(DekManagerTest, ConcurrentUnwrapsOfOneEdekCauseOneUnwrapDek) {
  std::vector<uint8_t> edek;
  {
    auto producer = make({});
    auto lease = producer->lease("orders", 0, deadline());
    ASSERT_TRUE(lease.ok());
    edek = lease->edek;
  }
  auto manager = make({}, 200ms);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  threads.reserve(200);
  for (int i = 0; i < 200; ++i) {
    threads.emplace_back([&] { ok += manager->unwrap(edek, deadline()).ok() ? 1 : 0; });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(counting_->unwrap_calls.load(), 1);
}

TEST_F(DekManagerTest, ASlowKmsCostsACallerNoMoreThanItsDeadline) {
  auto manager = make({}, 1500ms);
  auto lease = manager->lease("orders", 0, DekManager::Clock::now() + 100ms);
  // Had the caller waited for the KMS, the lease would have succeeded.
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().code, ErrorCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace kenc::keybroker::dek
