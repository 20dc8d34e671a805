#include "common/admin/metrics.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

namespace kenc::admin {
namespace {

TEST(Metrics, RendersCountersGaugesAndHistogramsInPrometheusFormat) {
  MetricsRegistry registry;
  auto& records =
      registry.counter_family("kenc_records_encrypted_total", "Records encrypted.", {"topic"});
  records.with({"orders"}).inc(3);
  records.with({"pay\"ments\\\n"}).inc();
  registry.gauge("kenc_dek_cache_entries", "DEKs in the cache.").set(2.5);
  auto& latency = registry.histogram("kenc_unwrap_seconds", "Unwrap latency.", {0.1, 1});
  latency.observe(0.05);
  latency.observe(0.1);
  latency.observe(0.5);
  latency.observe(7);

  EXPECT_EQ(registry.render(),
            "# HELP kenc_records_encrypted_total Records encrypted.\n"
            "# TYPE kenc_records_encrypted_total counter\n"
            "kenc_records_encrypted_total{topic=\"orders\"} 3\n"
            "kenc_records_encrypted_total{topic=\"pay\\\"ments\\\\\\n\"} 1\n"
            "# HELP kenc_dek_cache_entries DEKs in the cache.\n"
            "# TYPE kenc_dek_cache_entries gauge\n"
            "kenc_dek_cache_entries 2.5\n"
            "# HELP kenc_unwrap_seconds Unwrap latency.\n"
            "# TYPE kenc_unwrap_seconds histogram\n"
            "kenc_unwrap_seconds_bucket{le=\"0.10000000000000001\"} 2\n"
            "kenc_unwrap_seconds_bucket{le=\"1\"} 3\n"
            "kenc_unwrap_seconds_bucket{le=\"+Inf\"} 4\n"
            "kenc_unwrap_seconds_sum 7.6500000000000004\n"
            "kenc_unwrap_seconds_count 4\n");
}

TEST(Metrics, LabelledHistogramsPutLeLast) {
  MetricsRegistry registry;
  registry.histogram_family("h", "x", {"op"}, {1}).with({"lease"}).observe(2);
  std::string text = registry.render();
  EXPECT_NE(text.find("h_bucket{op=\"lease\",le=\"1\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_bucket{op=\"lease\",le=\"+Inf\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_count{op=\"lease\"} 1\n"), std::string::npos) << text;
}

TEST(Metrics, RejectsBadRegistrations) {
  MetricsRegistry registry;
  registry.counter("ok_total", "x");
  EXPECT_THROW(registry.counter("ok_total", "again"), std::invalid_argument);
  EXPECT_THROW(registry.gauge("ok_total", "other type"), std::invalid_argument);
  EXPECT_THROW(registry.counter("9lives", "x"), std::invalid_argument);
  EXPECT_THROW(registry.counter("has space", "x"), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("c", "x", {"le"}), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("d", "x", {"a:b"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "x", {2, 1}), std::invalid_argument);
  auto& family = registry.counter_family("e", "x", {"a", "b"});
  EXPECT_THROW(family.with({"only one"}), std::invalid_argument);
}

TEST(Metrics, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry registry;
  Counter& counter = registry.counter("hits_total", "x");
  Histogram& histogram = registry.histogram("h", "x", {0.5});
  Gauge& gauge = registry.gauge("g", "x");
  constexpr int kThreads = 4, kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.inc();
        histogram.observe(1);
        gauge.add(1);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(counter.value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(histogram.snapshot().count, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(histogram.snapshot().sum, double{kThreads} * kPerThread);
  EXPECT_EQ(gauge.value(), double{kThreads} * kPerThread);
}

}  // namespace
}  // namespace kenc::admin
