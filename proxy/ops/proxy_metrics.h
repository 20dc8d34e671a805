#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "common/admin/metrics.h"

namespace kenc::proxy {

// The proxy's Prometheus metrics. Hot-path methods are lock-free after a series' first use.
class ProxyMetrics {
 public:
  explicit ProxyMetrics(admin::MetricsRegistry& registry);

  void connection_opened();
  void connection_closed();
  void bytes_from_client(uint64_t n) { bytes_in_.inc(n); }
  void bytes_to_client(uint64_t n) { bytes_out_.inc(n); }
  void request(int16_t api_key);
  void error(int16_t api_key);
  void latency_seconds(double seconds) { latency_.observe(seconds); }

 private:
  // API keys beyond this share one "other" series so a hostile client cannot create series.
  static constexpr int kMaxApiKey = 127;
  admin::Counter& series(admin::CounterFamily& family,
                         std::array<std::atomic<admin::Counter*>, kMaxApiKey + 2>& cache,
                         int16_t api_key);

  admin::Gauge& active_;
  admin::Counter& accepted_;
  admin::Counter& bytes_in_;
  admin::Counter& bytes_out_;
  admin::Histogram& latency_;
  admin::CounterFamily& requests_;
  admin::CounterFamily& errors_;
  std::array<std::atomic<admin::Counter*>, kMaxApiKey + 2> request_cache_{};
  std::array<std::atomic<admin::Counter*>, kMaxApiKey + 2> error_cache_{};
};

}  // namespace kenc::proxy
