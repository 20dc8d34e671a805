#pragma once

#include <cstdint>
#include <optional>

namespace kenc::keybroker::dek {

// The encryption budget of one DEK and the lease numbers handed out against it.
//
// IVs are `lease number (32 bits) || counter (64 bits)`, so every lease of a DEK needs its own
// number and may encrypt at most `budget` records. The DEK as a whole may encrypt at most
// `total` records; it is exhausted when that is used up or when the 2^32 lease numbers are.
class DekBudget {
 public:
  struct Grant {
    uint32_t lease_number;
    uint64_t budget;
  };

  static constexpr uint64_t kLeaseNumbers = uint64_t{1} << 32;

  // `lease_size` caps one lease; both must be >= 1. `lease_numbers` is lowered by tests only.
  DekBudget(uint64_t total, uint64_t lease_size, uint64_t lease_numbers = kLeaseNumbers)
      : remaining_(total), lease_size_(lease_size), lease_numbers_(lease_numbers) {}

  // Grants min(requested, lease size, what is left); `requested` 0 means "the lease size".
  // Returns nothing when the DEK is exhausted.
  std::optional<Grant> carve(uint64_t requested);

  bool exhausted() const { return remaining_ == 0 || next_lease_number_ >= lease_numbers_; }
  uint64_t remaining() const { return remaining_; }
  uint64_t leases_granted() const { return next_lease_number_; }

 private:
  uint64_t remaining_;
  uint64_t lease_size_;
  uint64_t lease_numbers_;
  uint64_t next_lease_number_ = 0;
};

}  // namespace kenc::keybroker::dek
