#include "proxy/filters/record_encryption/fetch_limit_scaler.h"

#include <algorithm>
#include <cmath>

namespace kenc::record_encryption {

namespace {
// Responses smaller than this say little about a topic's record sizes (a lone record or an
// empty poll) and are not learned from.
constexpr uint64_t kMinObservedBytes = 1024;
// Weight of the newest response in the running factor: follows a change of record sizes
// within a few fetches, without swinging on one odd response.
constexpr double kNewestWeight = 0.5;
}  // namespace

FetchLimitScaler::FetchLimitScaler(Options options) : options_(options) {
  options_.max_factor = std::max(options_.max_factor, 1.0);
  options_.max_topics = std::max<size_t>(options_.max_topics, 1);
}

void FetchLimitScaler::observe(const std::string& topic, uint64_t broker_bytes,
                               uint64_t delivered_bytes) {
  if (!enabled() || broker_bytes < kMinObservedBytes || delivered_bytes == 0) {
    return;
  }
  const double sample =
      std::clamp(static_cast<double>(broker_bytes) / static_cast<double>(delivered_bytes), 1.0,
                 options_.max_factor);
  std::lock_guard lock(mutex_);
  auto it = factors_.find(topic);
  if (it == factors_.end()) {
    if (factors_.size() >= options_.max_topics) {
      factors_.clear();
    }
    factors_.emplace(topic, sample);
    return;
  }
  it->second = kNewestWeight * sample + (1.0 - kNewestWeight) * it->second;
}

double FetchLimitScaler::factor(const std::string& topic) const {
  if (!enabled()) {
    return 1.0;
  }
  std::lock_guard lock(mutex_);
  auto it = factors_.find(topic);
  return it == factors_.end() ? 1.0 : it->second;
}

int32_t FetchLimitScaler::scale(int32_t limit, double factor) const {
  if (factor <= 1.0 || limit <= 0 || limit >= options_.max_scaled_bytes) {
    return limit;
  }
  const double scaled = std::floor(static_cast<double>(limit) * factor);
  return static_cast<int32_t>(std::min(scaled, static_cast<double>(options_.max_scaled_bytes)));
}

std::string FetchLimitScaler::key_of_id(const uint8_t* id16) {
  // Topic names are [a-zA-Z0-9._-]: a leading NUL never starts one.
  std::string key(1, '\0');
  key.append(reinterpret_cast<const char*>(id16), 16);
  return key;
}

}  // namespace kenc::record_encryption
