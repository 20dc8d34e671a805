#include "keybroker/dek/dek_manager.h"

#include <glog/logging.h>

#include "common/crypto/edek.h"

namespace kenc::keybroker::dek {
namespace {

// A broken loop guard: a waiter that sees the fresh DEK exhausted by others again and again
// (a tiny budget under heavy load) gives up instead of spinning.
constexpr int kMaxLeaseAttempts = 64;

Error deadline_error(const std::string& what) {
  return make_error(ErrorCode::kDeadlineExceeded, "the KMS did not answer in time (" + what + ")");
}

void bump(std::atomic<uint64_t>& stat, admin::Counter* counter) {
  stat.fetch_add(1, std::memory_order_relaxed);
  if (counter != nullptr) {
    counter->inc();
  }
}

}  // namespace

DekMetrics::DekMetrics(admin::MetricsRegistry& registry)
    : DekMetrics(registry, registry.counter_family("kenc_keybroker_kms_calls_total",
                                                   "KMS calls made by the key broker", {"call"})) {}

DekMetrics::DekMetrics(admin::MetricsRegistry& registry, admin::CounterFamily& kms_calls)
    : kms_generate_calls(kms_calls.with({"generate_dek"})),
      kms_unwrap_calls(kms_calls.with({"unwrap_dek"})),
      kms_describe_calls(kms_calls.with({"describe_kek"})),
      unwrap_cache_hits(registry.counter("kenc_keybroker_unwrap_cache_hits_total",
                                         "Unwrap requests answered from the DEK cache")),
      unwrap_cache_misses(registry.counter("kenc_keybroker_unwrap_cache_misses_total",
                                           "Unwrap requests that needed the KMS")),
      leases_granted(
          registry.counter("kenc_keybroker_leases_granted_total", "DEK leases handed out")),
      deks_created(
          registry.counter("kenc_keybroker_deks_created_total",
                           "DEKs generated (each retires on budget, age or KEK rotation)")) {}

DekManager::DekManager(kms::Kms& kms, DekPolicy policy, std::function<Clock::time_point()> now,
                       DekMetrics* metrics)
    : kms_(kms),
      policy_(policy),
      now_(std::move(now)),
      metrics_(metrics),
      cache_(policy.unwrap_cache_capacity, policy.unwrap_cache_ttl),
      executor_(policy.kms_threads) {}

DekManager::~DekManager() = default;

bool DekManager::usable(const CurrentDek& dek, Clock::time_point now) const {
  return !dek.budget.exhausted() && now - dek.created < policy_.max_dek_age;
}

Result<Lease> DekManager::lease(const std::string& kek_id, uint64_t requested_encryptions,
                                Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  for (int attempt = 0; attempt < kMaxLeaseAttempts; ++attempt) {
    KekState& state = keks_[kek_id];
    const auto now = now_();
    const bool check_due =
        state.current && now - state.last_checked >= policy_.kek_refresh_interval;
    if (state.current && usable(*state.current, now) && !check_due) {
      CurrentDek& current = *state.current;
      auto grant = current.budget.carve(requested_encryptions);
      if (grant) {
        bump(leases_granted_, metrics_ ? &metrics_->leases_granted : nullptr);
        Lease lease;
        lease.dek = current.dek;
        lease.edek = current.edek;
        lease.lease_number = grant->lease_number;
        lease.encryption_budget = grant->budget;
        auto retire_in = current.created + policy_.max_dek_age - now;
        auto valid_for = std::min<Clock::duration>(retire_in, policy_.max_lease_duration);
        lease.expires_at =
            std::chrono::system_clock::now() +
            std::chrono::duration_cast<std::chrono::system_clock::duration>(valid_for);
        return lease;
      }
    }
    if (!state.refreshing.valid()) {
      auto done = std::make_shared<std::promise<Status>>();
      state.refreshing = done->get_future().share();
      executor_.post([this, kek_id, done] {
        Status status = refresh(kek_id);
        {
          std::lock_guard relock(mu_);
          keks_[kek_id].refreshing = {};
        }
        done->set_value(std::move(status));
      });
    }
    auto refreshing = state.refreshing;
    lock.unlock();
    if (refreshing.wait_until(deadline) != std::future_status::ready) {
      return deadline_error("lease on KEK '" + kek_id + "'");
    }
    const Status& status = refreshing.get();
    if (!status) {
      return status.error();
    }
    lock.lock();
  }
  return make_error(ErrorCode::kUnavailable,
                    "the DEKs of KEK '" + kek_id + "' run out faster than they can be created");
}

// Runs on a KMS thread, at most one at a time per KEK. Decides whether the current DEK can stay
// (it is usable and the KEK has no newer version) or a new one must be generated.
Status DekManager::refresh(const std::string& kek_id) {
  const auto now = now_();
  std::shared_ptr<CurrentDek> current;
  {
    std::lock_guard lock(mu_);
    current = keks_[kek_id].current;
    if (current && usable(*current, now) &&
        now - keks_[kek_id].last_checked < policy_.kek_refresh_interval) {
      return Status::Ok();  // someone else refreshed it meanwhile
    }
  }
  if (current && usable(*current, now)) {
    // Only the KEK check is due.
    bump(kms_describe_calls_, metrics_ ? &metrics_->kms_describe_calls : nullptr);
    auto info = kms_.describe_kek(kek_id);
    if (!info) {
      // Keep serving the DEK we have; try again after another interval.
      LOG(WARNING) << "KEK '" << kek_id
                   << "' check failed, keeping the current DEK: " << info.error().to_string();
      std::lock_guard lock(mu_);
      keks_[kek_id].last_checked = now;
      return Status::Ok();
    }
    if (info->latest_version <= current->dek->kek_version) {
      std::lock_guard lock(mu_);
      keks_[kek_id].last_checked = now;
      return Status::Ok();
    }
    LOG(INFO) << "KEK '" << kek_id << "' rotated to version " << info->latest_version
              << ": retiring DEK " << to_hex(current->dek->dek_id);
  }
  return install_new_dek(kek_id);
}

Status DekManager::install_new_dek(const std::string& kek_id) {
  bump(kms_generate_calls_, metrics_ ? &metrics_->kms_generate_calls : nullptr);
  auto generated = kms_.generate_dek(kek_id);
  if (!generated) {
    return generated.error();
  }
  auto edek = crypto::serialize_edek(
      crypto::Edek{kek_id, generated->kek_version, std::move(generated->wrapped)});
  if (!edek) {
    return edek.error();
  }

  auto unwrapped = std::make_shared<UnwrappedDek>();
  unwrapped->dek_id = dek_id_of(*edek);
  unwrapped->dek = std::move(generated->dek);
  unwrapped->kek_id = kek_id;
  unwrapped->kek_version = generated->kek_version;

  if (metrics_ != nullptr) {
    metrics_->deks_created.inc();
  }
  const auto now = now_();
  auto current = std::make_shared<CurrentDek>(
      CurrentDek{unwrapped, edek.value(),
                 DekBudget(policy_.max_encryptions_per_dek, policy_.lease_size), now});
  // Proxies that fetch what was just produced find the DEK without a KMS call.
  cache_.insert(std::string(edek->begin(), edek->end()), unwrapped, now);
  std::lock_guard lock(mu_);
  KekState& state = keks_[kek_id];
  state.current = std::move(current);
  state.last_checked = now;
  return Status::Ok();
}

Result<UnwrapCache::Entry> DekManager::unwrap(std::span<const uint8_t> edek_bytes,
                                              Clock::time_point deadline) {
  auto edek = crypto::parse_edek(edek_bytes);
  if (!edek) {
    return edek.error();
  }
  std::string key(edek_bytes.begin(), edek_bytes.end());
  if (auto hit = cache_.find(key, now_())) {
    bump(cache_hits_, metrics_ ? &metrics_->unwrap_cache_hits : nullptr);
    return hit;
  }
  bump(cache_misses_, metrics_ ? &metrics_->unwrap_cache_misses : nullptr);

  std::shared_future<Result<UnwrapCache::Entry>> pending;
  {
    std::lock_guard lock(mu_);
    auto it = unwrapping_.find(key);
    if (it != unwrapping_.end()) {
      pending = it->second;
    } else {
      auto done = std::make_shared<std::promise<Result<UnwrapCache::Entry>>>();
      pending = done->get_future().share();
      unwrapping_.emplace(key, pending);
      executor_.post([this, key, parsed = std::move(edek.value()), done]() mutable {
        bump(kms_unwrap_calls_, metrics_ ? &metrics_->kms_unwrap_calls : nullptr);
        Result<UnwrapCache::Entry> result = [&]() -> Result<UnwrapCache::Entry> {
          auto dek = kms_.unwrap_dek(parsed.kek_id, parsed.kek_version, parsed.wrapped);
          if (!dek) {
            return dek.error();
          }
          auto unwrapped = std::make_shared<UnwrappedDek>();
          unwrapped->dek_id = dek_id_of({reinterpret_cast<const uint8_t*>(key.data()), key.size()});
          unwrapped->dek = std::move(dek.value());
          unwrapped->kek_id = parsed.kek_id;
          unwrapped->kek_version = parsed.kek_version;
          UnwrapCache::Entry entry = std::move(unwrapped);
          cache_.insert(key, entry, now_());
          return entry;
        }();
        {
          std::lock_guard erase_lock(mu_);
          unwrapping_.erase(key);
        }
        done->set_value(std::move(result));
      });
    }
  }
  if (pending.wait_until(deadline) != std::future_status::ready) {
    return deadline_error("unwrap under KEK '" + edek->kek_id + "'");
  }
  return pending.get();
}

template <typename T>
Result<T> DekManager::run_on_kms(std::function<Result<T>()> call, Clock::time_point deadline) {
  auto done = std::make_shared<std::promise<Result<T>>>();
  auto result = done->get_future();
  executor_.post([call = std::move(call), done] { done->set_value(call()); });
  if (result.wait_until(deadline) != std::future_status::ready) {
    return deadline_error("KMS call");
  }
  return result.get();
}

Result<kms::KekInfo> DekManager::describe(const std::string& kek_id, Clock::time_point deadline) {
  return run_on_kms<kms::KekInfo>(
      [this, kek_id] {
        bump(kms_describe_calls_, metrics_ ? &metrics_->kms_describe_calls : nullptr);
        return kms_.describe_kek(kek_id);
      },
      deadline);
}

Status DekManager::kms_health(Clock::time_point deadline) {
  auto result = run_on_kms<bool>(
      [this]() -> Result<bool> {
        Status s = kms_.health();
        if (!s) {
          return s.error();
        }
        return true;
      },
      deadline);
  if (!result) {
    return result.error();
  }
  return Status::Ok();
}

DekManagerStats DekManager::stats() const {
  DekManagerStats s;
  s.kms_generate_calls = kms_generate_calls_.load();
  s.kms_unwrap_calls = kms_unwrap_calls_.load();
  s.kms_describe_calls = kms_describe_calls_.load();
  s.unwrap_cache_hits = cache_hits_.load();
  s.unwrap_cache_misses = cache_misses_.load();
  s.leases_granted = leases_granted_.load();
  return s;
}

}  // namespace kenc::keybroker::dek
