#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/crypto/iv_sequence.h"
#include "common/crypto/secure_bytes.h"
#include "proxy/filters/record_encryption/dek_cache.h"

namespace kenc::record_encryption {

// A DEK lease as the key broker grants it: the key, its EDEK, and the IVs this proxy may use
// (lease number || counter, see docs/keybroker.md).
struct GrantedLease {
  crypto::SecureBytes dek;
  std::vector<uint8_t> edek;
  uint32_t lease_number = 0;
  uint64_t encryption_budget = 0;
  std::chrono::system_clock::time_point expires_at;
};

// One lease in use. Shared by the pool and the batches being encrypted under it.
struct ActiveLease {
  ActiveLease(DekPtr dek_in, std::vector<uint8_t> edek_in, uint32_t lease_number, uint64_t budget,
              std::chrono::steady_clock::time_point granted,
              std::chrono::steady_clock::time_point expires)
      : dek(std::move(dek_in)),
        edek(std::move(edek_in)),
        ivs(lease_number, budget),
        granted_at(granted),
        expires_at(expires) {}

  DekPtr dek;
  std::vector<uint8_t> edek;
  crypto::IvSequence ivs;
  std::chrono::steady_clock::time_point granted_at;
  std::chrono::steady_clock::time_point expires_at;
};

// A batch's share of a lease: `count` IVs starting at `first`.
struct LeaseReservation {
  std::shared_ptr<ActiveLease> lease;
  crypto::IvFields first;
  uint64_t count = 0;
};

using LeaseDone = std::function<void(Result<GrantedLease>)>;
// Asks the key broker for a lease on the current DEK of `kek_alias` (`topic` is for its audit
// log). Must call `done` exactly once, from any thread.
using LeaseFn = std::function<void(const std::string& kek_alias, const std::string& topic,
                                   uint64_t requested_encryptions, LeaseDone done)>;
using ReservationDone = std::function<void(Result<LeaseReservation>)>;

struct DekLeasePoolOptions {
  // A new lease is requested (in the background) once a lease has this fraction of its budget
  // or of its lifetime left, so that in steady state a batch never waits for the key broker.
  double renew_at_remaining = 0.25;
  // Failures a retry will not fix soon (unknown KEK, permission denied) are remembered this
  // long, so a producer hammering a rejected topic does not hammer the key broker too.
  std::chrono::milliseconds negative_ttl = std::chrono::seconds(5);
  std::function<std::chrono::steady_clock::time_point()> now;  // tests: the clock
  // Called with every granted lease's DEK and EDEK (e.g. to seed the fetch side's DEK cache).
  std::function<void(const DekPtr& dek, std::span<const uint8_t> edek)> on_granted;
};

// The proxy's DEK leases, one current lease per KEK alias, shared by every connection and
// worker thread of a virtual cluster. reserve() hands a batch its IVs from the current lease
// without waiting (a mutex, no I/O) when the lease has enough left; otherwise it waits for the
// next lease, for which concurrent callers share one key-broker call. Renewal starts ahead of
// exhaustion and expiry, so waiting only happens for the first batch of a KEK or after an
// outage. Thread-safe; callbacks run inline or on the thread completing the key-broker call.
class DekLeasePool {
 public:
  DekLeasePool(DekLeasePoolOptions options, LeaseFn lease);
  ~DekLeasePool();
  DekLeasePool(const DekLeasePool&) = delete;
  DekLeasePool& operator=(const DekLeasePool&) = delete;

  // Fast path: `count` IVs of the current lease of `kek_alias`; nullopt when there is no usable
  // lease right now (then call reserve()); an error remembered from the key broker.
  Result<std::optional<LeaseReservation>> try_reserve(const std::string& kek_alias, uint64_t count,
                                                      const std::string& topic);
  // `count` IVs, now or once a lease arrives; an error when the key broker refuses or fails.
  void reserve(const std::string& kek_alias, uint64_t count, const std::string& topic,
               ReservationDone done);

  struct Stats {
    uint64_t leases_requested = 0;
    uint64_t leases_granted = 0;
    uint64_t lease_failures = 0;
    uint64_t waits = 0;  // reservations that had to wait for a lease
  };
  Stats stats() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with in-flight key-broker calls
};

}  // namespace kenc::record_encryption
