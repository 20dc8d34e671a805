#pragma once

#include <atomic>
#include <cstdint>

#include "common/base/result.h"
#include "common/crypto/aes_gcm.h"

namespace kenc::crypto {

// The two numbers an IV is made of. Stored in each cipher record as varints (smaller than
// the 12-byte IV they stand for) and turned into the IV by to_iv().
struct IvFields {
  uint32_t lease_number = 0;
  uint64_t counter = 0;

  // IV = lease number (32-bit big endian) || counter (64-bit big endian).
  GcmIv to_iv() const;
  bool operator==(const IvFields&) const = default;
};

// Hands out the IVs of one DEK lease: the key broker gives each lease of a DEK a distinct
// lease number and a budget of encryptions, so (lease number, counter) never repeats under a
// DEK, across every proxy. Counters run from 0 to budget - 1; after that next() returns an
// error (kOutOfRange) and never wraps. Thread-safe and lock-free (relaxed CAS: only
// uniqueness matters, not ordering).
class IvSequence {
 public:
  IvSequence(uint32_t lease_number, uint64_t budget)
      : lease_number_(lease_number), budget_(budget) {}

  Result<IvFields> next();
  // Takes `count` consecutive counters at once (one atomic operation for a whole batch) and
  // returns the first; kOutOfRange, taking nothing, when fewer than `count` are left.
  Result<IvFields> reserve(uint64_t count);
  // How many IVs are left (a hint for lease renewal; may be stale under concurrency).
  uint64_t remaining() const;
  uint32_t lease_number() const { return lease_number_; }
  uint64_t budget() const { return budget_; }

 private:
  const uint32_t lease_number_;
  const uint64_t budget_;
  std::atomic<uint64_t> next_counter_{0};
};

}  // namespace kenc::crypto
