#include "common/crypto/iv_sequence.h"

namespace kenc::crypto {

GcmIv IvFields::to_iv() const {
  GcmIv iv{};
  for (size_t i = 0; i < 4; ++i) {
    iv[i] = static_cast<uint8_t>(lease_number >> (24 - 8 * i));
  }
  for (size_t i = 0; i < 8; ++i) {
    iv[4 + i] = static_cast<uint8_t>(counter >> (56 - 8 * i));
  }
  return iv;
}

Result<IvFields> IvSequence::next() {
  uint64_t counter = next_counter_.load(std::memory_order_relaxed);
  do {
    if (counter >= budget_) {
      return make_error(ErrorCode::kOutOfRange, "DEK lease encryption budget exhausted");
    }
  } while (!next_counter_.compare_exchange_weak(counter, counter + 1, std::memory_order_relaxed));
  return IvFields{lease_number_, counter};
}

Result<IvFields> IvSequence::reserve(uint64_t count) {
  uint64_t counter = next_counter_.load(std::memory_order_relaxed);
  do {
    if (counter >= budget_ || budget_ - counter < count) {
      return make_error(ErrorCode::kOutOfRange, "DEK lease encryption budget exhausted");
    }
  } while (
      !next_counter_.compare_exchange_weak(counter, counter + count, std::memory_order_relaxed));
  return IvFields{lease_number_, counter};
}

uint64_t IvSequence::remaining() const {
  uint64_t used = next_counter_.load(std::memory_order_relaxed);
  return used >= budget_ ? 0 : budget_ - used;
}

}  // namespace kenc::crypto
