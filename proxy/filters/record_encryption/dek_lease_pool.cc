#include "proxy/filters/record_encryption/dek_lease_pool.h"

#include <string>
#include <utility>

namespace kenc::record_encryption {
namespace {

using Clock = std::chrono::steady_clock;

// Failures the key broker will answer the same way for a while: remembered (negative cache).
bool is_lasting(const Error& e) {
  return e.code == ErrorCode::kNotFound || e.code == ErrorCode::kPermissionDenied ||
         e.code == ErrorCode::kInvalidArgument;
}

// After a failed background renewal, the next one waits this long (the current lease is still
// good; a key broker that is down should not get one call per batch).
constexpr std::chrono::seconds kRenewalRetryDelay{1};

Error oversized(uint64_t count, uint64_t budget) {
  return make_error(ErrorCode::kOutOfRange, "a batch of " + std::to_string(count) +
                                                " records is larger than a DEK lease (" +
                                                std::to_string(budget) + " encryptions)");
}

}  // namespace

struct DekLeasePool::State : std::enable_shared_from_this<DekLeasePool::State> {
  struct Waiter {
    uint64_t count;
    ReservationDone done;
  };
  struct Entry {
    std::shared_ptr<ActiveLease> current;
    bool requesting = false;
    Clock::time_point no_renewal_before{};
    std::vector<Waiter> waiters;
    std::optional<Error> failure;  // a lasting failure, until failure_until
    Clock::time_point failure_until{};
  };
  using Completion = std::pair<ReservationDone, Result<LeaseReservation>>;

  DekLeasePoolOptions options;
  LeaseFn lease;
  bool closed = false;  // the pool is gone: completions start no new key-broker calls
  mutable std::mutex mutex;
  std::map<std::string, Entry, std::less<>> entries;
  Stats stats;

  Clock::time_point now() const { return options.now ? options.now() : Clock::now(); }

  // With the mutex held: IVs from the entry's current lease if it is usable.
  std::optional<LeaseReservation> take_locked(Entry& entry, uint64_t count, Clock::time_point t) {
    if (!entry.current || t >= entry.current->expires_at) {
      return std::nullopt;
    }
    auto first = entry.current->ivs.reserve(count);
    if (!first.ok()) {
      return std::nullopt;
    }
    return LeaseReservation{entry.current, *first, count};
  }

  bool wants_renewal_locked(const Entry& entry, Clock::time_point t) const {
    if (entry.requesting || t < entry.no_renewal_before || !entry.current) {
      return false;
    }
    const ActiveLease& l = *entry.current;
    const double budget = static_cast<double>(l.ivs.budget());
    if (static_cast<double>(l.ivs.remaining()) <= budget * options.renew_at_remaining) {
      return true;
    }
    auto lifetime = l.expires_at - l.granted_at;
    return (l.expires_at - t) <= lifetime * options.renew_at_remaining;
  }

  void request(const std::string& alias, const std::string& topic) {
    {
      std::lock_guard lock(mutex);
      ++stats.leases_requested;
    }
    std::weak_ptr<State> weak = weak_from_this();
    lease(alias, topic, 0, [weak, alias, topic](Result<GrantedLease> result) {
      if (auto self = weak.lock()) {
        self->complete(alias, topic, std::move(result));
      }
    });
  }

  void complete(const std::string& alias, const std::string& topic, Result<GrantedLease> result) {
    std::vector<Completion> completions;
    std::shared_ptr<ActiveLease> granted_lease;
    bool again = false;
    // The expiry is the key broker's wall clock: a lease that is over on arrival means the
    // clocks are apart by more than a lease's lifetime. Asking again would get the same, in a
    // loop with the batches waiting forever; instead they fail (retriable) and the alias rests
    // for a moment.
    bool expired_on_arrival = false;
    if (result.ok() && result->expires_at <= std::chrono::system_clock::now()) {
      expired_on_arrival = true;
      result = make_error(ErrorCode::kUnavailable,
                          "the key broker granted a DEK lease that had already expired by this "
                          "proxy's clock (are the clocks of the two hosts apart?)");
    }
    {
      std::lock_guard lock(mutex);
      Entry& entry = entries[alias];
      entry.requesting = false;
      const Clock::time_point t = now();
      if (result.ok()) {
        ++stats.leases_granted;
        GrantedLease& granted = *result;
        auto dek = std::make_shared<Dek>();
        dek->id = next_dek_id();
        dek->key = std::move(granted.dek);
        // The broker's expiry is wall-clock; the lease is tracked on the steady clock.
        auto left = granted.expires_at - std::chrono::system_clock::now();
        auto expires = t + std::chrono::duration_cast<Clock::duration>(left);
        entry.current = std::make_shared<ActiveLease>(DekPtr(std::move(dek)),
                                                      std::move(granted.edek), granted.lease_number,
                                                      granted.encryption_budget, t, expires);
        entry.failure.reset();
        granted_lease = entry.current;
        std::vector<Waiter> still_waiting;
        for (Waiter& w : entry.waiters) {
          if (w.count > entry.current->ivs.budget()) {
            completions.emplace_back(std::move(w.done),
                                     oversized(w.count, entry.current->ivs.budget()));
          } else if (auto r = take_locked(entry, w.count, t)) {
            completions.emplace_back(std::move(w.done), std::move(*r));
          } else {
            still_waiting.push_back(std::move(w));  // this lease ran out: ask for the next
          }
        }
        entry.waiters = std::move(still_waiting);
        again = !entry.waiters.empty();
      } else {
        ++stats.lease_failures;
        entry.no_renewal_before = t + kRenewalRetryDelay;
        if (is_lasting(result.error()) && options.negative_ttl.count() > 0) {
          entry.failure = result.error();
          entry.failure_until = t + options.negative_ttl;
        } else if (expired_on_arrival) {
          entry.failure = result.error();
          entry.failure_until = t + kRenewalRetryDelay;
        }
        for (Waiter& w : entry.waiters) {
          completions.emplace_back(std::move(w.done), result.error());
        }
        entry.waiters.clear();
      }
      again = again && !closed;
      entry.requesting = again;
    }
    if (granted_lease && options.on_granted) {
      options.on_granted(granted_lease->dek, granted_lease->edek);
    }
    if (again) {
      request(alias, topic);
    }
    for (auto& [done, r] : completions) {
      done(std::move(r));
    }
  }
};

DekLeasePool::DekLeasePool(DekLeasePoolOptions options, LeaseFn lease)
    : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  state_->lease = std::move(lease);
}

DekLeasePool::~DekLeasePool() {
  std::lock_guard lock(state_->mutex);
  state_->closed = true;
}

Result<std::optional<LeaseReservation>> DekLeasePool::try_reserve(const std::string& kek_alias,
                                                                  uint64_t count,
                                                                  const std::string& topic) {
  std::optional<LeaseReservation> reservation;
  bool renew = false;
  {
    std::lock_guard lock(state_->mutex);
    auto it = state_->entries.find(kek_alias);
    if (it == state_->entries.end()) {
      return std::optional<LeaseReservation>();
    }
    State::Entry& entry = it->second;
    const Clock::time_point t = state_->now();
    if (entry.failure && t < entry.failure_until) {
      return *entry.failure;
    }
    reservation = state_->take_locked(entry, count, t);
    if (reservation && state_->wants_renewal_locked(entry, t)) {
      entry.requesting = true;
      renew = true;
    }
  }
  if (renew) {
    state_->request(kek_alias, topic);
  }
  return reservation;
}

void DekLeasePool::reserve(const std::string& kek_alias, uint64_t count, const std::string& topic,
                           ReservationDone done) {
  Result<LeaseReservation> immediate = make_error(ErrorCode::kInternal, "unset");
  bool answered = false;
  bool ask = false;
  {
    std::lock_guard lock(state_->mutex);
    State::Entry& entry = state_->entries[kek_alias];
    const Clock::time_point t = state_->now();
    if (entry.failure && t < entry.failure_until) {
      immediate = *entry.failure;
      answered = true;
    } else if (entry.current && count > entry.current->ivs.budget()) {
      // No lease of this key broker can serve it: asking for another would only cost a
      // key-broker call and the rest of the current lease, once per such batch.
      immediate = oversized(count, entry.current->ivs.budget());
      answered = true;
    } else if (auto r = state_->take_locked(entry, count, t)) {
      immediate = std::move(*r);
      answered = true;
    } else {
      ++state_->stats.waits;
      entry.waiters.push_back(State::Waiter{count, std::move(done)});
      if (!entry.requesting) {
        entry.requesting = true;
        ask = true;
      }
    }
  }
  if (answered) {
    // `done` was moved only on the path that leaves `answered` false.
    done(std::move(immediate));  // NOLINT(bugprone-use-after-move)
    return;
  }
  if (ask) {
    state_->request(kek_alias, topic);
  }
}

DekLeasePool::Stats DekLeasePool::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

}  // namespace kenc::record_encryption
