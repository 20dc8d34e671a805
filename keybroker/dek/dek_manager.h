#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/admin/metrics.h"
#include "common/base/result.h"
#include "keybroker/dek/dek_budget.h"
#include "keybroker/dek/kms_executor.h"
#include "keybroker/dek/unwrap_cache.h"
#include "keybroker/dek/unwrapped_dek.h"
#include "keybroker/kms/kms.h"

namespace kenc::keybroker::dek {

struct DekPolicy {
  uint64_t max_encryptions_per_dek = uint64_t{1} << 32;
  uint64_t lease_size = uint64_t{1} << 20;
  std::chrono::milliseconds max_dek_age = std::chrono::hours(24);
  std::chrono::milliseconds max_lease_duration = std::chrono::hours(1);
  std::chrono::milliseconds kek_refresh_interval = std::chrono::minutes(1);
  size_t unwrap_cache_capacity = 10000;
  std::chrono::milliseconds unwrap_cache_ttl = std::chrono::minutes(10);
  size_t kms_threads = 4;
};

// A share of a DEK's budget, as handed to one proxy.
struct Lease {
  std::shared_ptr<const UnwrappedDek> dek;  // id, key, KEK id and version
  std::vector<uint8_t> edek;                // serialized crypto::Edek
  uint32_t lease_number = 0;
  uint64_t encryption_budget = 0;
  std::chrono::system_clock::time_point expires_at;
};

struct DekManagerStats {
  uint64_t kms_generate_calls = 0;
  uint64_t kms_unwrap_calls = 0;
  uint64_t kms_describe_calls = 0;
  uint64_t unwrap_cache_hits = 0;
  uint64_t unwrap_cache_misses = 0;
  uint64_t leases_granted = 0;
};

// Prometheus counters mirroring DekManagerStats, registered once at start-up.
struct DekMetrics {
  explicit DekMetrics(admin::MetricsRegistry& registry);
  admin::Counter& kms_generate_calls;
  admin::Counter& kms_unwrap_calls;
  admin::Counter& kms_describe_calls;
  admin::Counter& unwrap_cache_hits;
  admin::Counter& unwrap_cache_misses;
  admin::Counter& leases_granted;
  admin::Counter& deks_created;

 private:
  DekMetrics(admin::MetricsRegistry& registry, admin::CounterFamily& kms_calls);
};

// Owns the current DEK of every KEK and the cache of unwrapped DEKs.
//
// - One current DEK per KEK; leases carve budget and lease numbers from it. It retires when its
//   budget or lease numbers run out, at `max_dek_age`, or when the KEK gets a newer version
//   (checked with describe_kek at most every `kek_refresh_interval`).
// - DEKs live in memory only: after a restart every lease is on a fresh DEK, so lease numbers
//   (and therefore IVs) never repeat under one DEK.
// - Concurrent requests that need the same KMS call share it: one generate_dek per KEK, one
//   unwrap_dek per EDEK. KMS calls run on a small pool; callers wait at most until their
//   deadline (kDeadlineExceeded), so a hung KMS never holds a request thread longer.
class DekManager {
 public:
  using Clock = std::chrono::steady_clock;

  DekManager(kms::Kms& kms, DekPolicy policy, std::function<Clock::time_point()> now = Clock::now,
             DekMetrics* metrics = nullptr);
  ~DekManager();

  Result<Lease> lease(const std::string& kek_id, uint64_t requested_encryptions,
                      Clock::time_point deadline);
  Result<UnwrapCache::Entry> unwrap(std::span<const uint8_t> edek, Clock::time_point deadline);
  Result<kms::KekInfo> describe(const std::string& kek_id, Clock::time_point deadline);
  Status kms_health(Clock::time_point deadline);

  DekManagerStats stats() const;
  const kms::Kms& kms() const { return kms_; }

 private:
  struct CurrentDek {
    std::shared_ptr<const UnwrappedDek> dek;
    std::vector<uint8_t> edek;
    DekBudget budget;
    Clock::time_point created;
  };
  struct KekState {
    std::shared_ptr<CurrentDek> current;
    Clock::time_point last_checked{};
    std::shared_future<Status> refreshing;  // valid() while a KMS call for this KEK runs
  };

  bool usable(const CurrentDek& dek, Clock::time_point now) const;
  Status refresh(const std::string& kek_id);
  Status install_new_dek(const std::string& kek_id);
  template <typename T>
  Result<T> run_on_kms(std::function<Result<T>()> call, Clock::time_point deadline);

  kms::Kms& kms_;
  const DekPolicy policy_;
  const std::function<Clock::time_point()> now_;
  DekMetrics* const metrics_;
  UnwrapCache cache_;

  std::mutex mu_;
  std::map<std::string, KekState> keks_;
  std::map<std::string, std::shared_future<Result<UnwrapCache::Entry>>> unwrapping_;

  std::atomic<uint64_t> kms_generate_calls_{0};
  std::atomic<uint64_t> kms_unwrap_calls_{0};
  std::atomic<uint64_t> kms_describe_calls_{0};
  std::atomic<uint64_t> cache_hits_{0};
  std::atomic<uint64_t> cache_misses_{0};
  std::atomic<uint64_t> leases_granted_{0};

  // Last member: destroyed first, so queued KMS calls finish while the state above still exists.
  KmsExecutor executor_;
};

}  // namespace kenc::keybroker::dek
