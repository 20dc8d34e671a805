#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "common/admin/metrics.h"

namespace kenc::proxy {

enum class FilterStage : uint8_t { kRequest, kResponse };

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
  // Time one request or response spent in the filter chain, from entering it to leaving it:
  // the proxy's own work on it (e.g. encrypting or decrypting records) and whatever the filters
  // awaited (e.g. the key broker). Unlike the request latency, it holds no broker time, so it
  // is what the proxy adds to the client's wait.
  void filter_seconds(int16_t api_key, FilterStage stage, double seconds);

 private:
  // API keys beyond this share one "other" series so a hostile client cannot create series.
  static constexpr int kMaxApiKey = 127;
  template <typename Metric>
  using SeriesCache = std::array<std::atomic<Metric*>, kMaxApiKey + 2>;
  // The series of `api_key` in `family`; `stage`, when given, is the value of its second label.
  // Looked up in `cache` first: building label values allocates, so only a first use does it.
  template <typename Metric>
  static Metric& series(admin::Family<Metric>& family, SeriesCache<Metric>& cache, int16_t api_key,
                        const char* stage = nullptr);

  admin::Gauge& active_;
  admin::Counter& accepted_;
  admin::Counter& bytes_in_;
  admin::Counter& bytes_out_;
  admin::Histogram& latency_;
  admin::CounterFamily& requests_;
  admin::CounterFamily& errors_;
  admin::HistogramFamily& filter_time_;
  SeriesCache<admin::Counter> request_cache_{};
  SeriesCache<admin::Counter> error_cache_{};
  SeriesCache<admin::Histogram> filter_request_cache_{};
  SeriesCache<admin::Histogram> filter_response_cache_{};
};

}  // namespace kenc::proxy
