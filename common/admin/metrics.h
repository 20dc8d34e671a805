#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kenc::admin {

// Metric values updated on the hot path with relaxed atomics (no locks, no allocation) and
// read by the /metrics renderer. Ordering does not matter for metrics, only eventual counts.

// A monotonically increasing count. Increments go to one of several cache-line sized shards
// chosen per thread, so worker threads bumping the same counter do not fight over one line.
class Counter {
 public:
  void inc(uint64_t n = 1);
  uint64_t value() const;

 private:
  static constexpr size_t kShards = 16;
  struct alignas(64) Shard {
    std::atomic<uint64_t> count{0};
  };
  std::array<Shard, kShards> shards_;
};

// A value that goes up and down (connections open, cache entries).
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Counts observations into fixed buckets (upper bounds, ascending), plus their sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (the +Inf bucket)
  std::atomic<double> sum_{0.0};
};

// Latency buckets in seconds from 100 us to 10 s: the default for request timings.
std::vector<double> default_latency_buckets();

// All series of one metric name, one per combination of label values. with() is for set-up
// (it locks and may allocate): look a series up once and keep the reference on the hot path.
// References stay valid for the family's lifetime.
template <typename Metric>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> buckets = {});

  // Throws std::invalid_argument when the number of values differs from the label names.
  Metric& with(const std::vector<std::string>& label_values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Calls fn(label_values, metric) for each series, in label order, under the family's lock.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    std::lock_guard lock(mutex_);
    for (const auto& [values, metric] : series_) {
      fn(values, *metric);
    }
  }

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> buckets_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// The metrics of one process, rendered in the Prometheus text exposition format (0.0.4).
// Registration happens at start-up and throws std::invalid_argument for an invalid metric or
// label name, or a name registered twice.
class MetricsRegistry {
 public:
  CounterFamily& counter_family(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names);
  GaugeFamily& gauge_family(const std::string& name, const std::string& help,
                            std::vector<std::string> label_names);
  HistogramFamily& histogram_family(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names,
                                    std::vector<double> upper_bounds = default_latency_buckets());

  // Unlabelled shortcuts.
  Counter& counter(const std::string& name, const std::string& help);
  Gauge& gauge(const std::string& name, const std::string& help);
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> upper_bounds = default_latency_buckets());

  std::string render() const;

 private:
  void claim_name(const std::string& name, const std::vector<std::string>& label_names);

  mutable std::mutex mutex_;
  // Families in registration order, per type (rendered counters, gauges, histograms).
  std::vector<std::unique_ptr<CounterFamily>> counters_;
  std::vector<std::unique_ptr<GaugeFamily>> gauges_;
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;
  std::vector<std::string> names_;
};

}  // namespace kenc::admin
