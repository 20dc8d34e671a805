#include "keybroker/dek/dek_budget.h"

#include <algorithm>

namespace kenc::keybroker::dek {

std::optional<DekBudget::Grant> DekBudget::carve(uint64_t requested) {
  if (exhausted()) {
    return std::nullopt;
  }
  uint64_t wanted = requested == 0 ? lease_size_ : requested;
  uint64_t granted = std::min({wanted, lease_size_, remaining_});
  remaining_ -= granted;
  return Grant{static_cast<uint32_t>(next_lease_number_++), granted};
}

}  // namespace kenc::keybroker::dek
