#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "keybroker/kms/kms.h"

namespace kenc::keybroker::testing {

// Wraps a real KMS and counts the calls that reach it; an optional delay widens the window in
// which concurrent requests must coalesce.
class CountingKms final : public kms::Kms {
 public:
  explicit CountingKms(kms::Kms& inner, std::chrono::milliseconds delay = {})
      : inner_(inner), delay_(delay) {}

  std::string name() const override { return "counting(" + inner_.name() + ")"; }
  Result<kms::KekInfo> describe_kek(const std::string& kek_id) override {
    ++describe_calls;
    return inner_.describe_kek(kek_id);
  }
  Result<kms::GeneratedDek> generate_dek(const std::string& kek_id) override {
    ++generate_calls;
    std::this_thread::sleep_for(delay_);
    return inner_.generate_dek(kek_id);
  }
  Result<crypto::SecureBytes> unwrap_dek(const std::string& kek_id, uint32_t kek_version,
                                         std::span<const uint8_t> wrapped) override {
    ++unwrap_calls;
    std::this_thread::sleep_for(delay_);
    return inner_.unwrap_dek(kek_id, kek_version, wrapped);
  }
  Status health() override { return inner_.health(); }

  std::atomic<int> describe_calls{0};
  std::atomic<int> generate_calls{0};
  std::atomic<int> unwrap_calls{0};

 private:
  kms::Kms& inner_;
  std::chrono::milliseconds delay_;
};

}  // namespace kenc::keybroker::testing
