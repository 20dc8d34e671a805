#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "tests/world/kafka/java_client.h"

namespace kenc::testworld {

// Kafka's own load generators (org.apache.kafka.tools.ProducerPerformance and
// ConsumerPerformance from the world's kafka-tools jar), run with the full JIT and their summary
// parsed into numbers, for benchmarks (proxy vs. direct, encryption on vs. off).
// Each run throws std::runtime_error, with the tool's output, if it fails or prints no summary.

struct ProducerPerfOptions {
  std::string topic;
  int64_t num_records = 10000;
  int record_size = 1024;
  int64_t throughput = -1;    // records/s; -1: as fast as possible
  Properties producer_props;  // acks, compression.type, linger.ms, ... (bootstrap added)
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
};

struct ProducerPerfResult {
  int64_t records = 0;
  double records_per_sec = 0;
  double mb_per_sec = 0;
  double avg_latency_ms = 0;
  double max_latency_ms = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, p999_ms = 0;
  std::string output;  // the tool's whole output
};

struct ConsumerPerfOptions {
  std::string topic;
  int64_t messages = 10000;
  Properties consumer_props;   // written to a --consumer.config file (bootstrap added)
  bool print_metrics = false;  // --print-metrics: the client's metrics after the summary
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
};

struct ConsumerPerfResult {
  double mb = 0;
  double mb_per_sec = 0;
  int64_t messages = 0;
  double messages_per_sec = 0;
  int64_t rebalance_ms = 0;
  int64_t fetch_ms = 0;
  double fetch_mb_per_sec = 0;
  double fetch_messages_per_sec = 0;
  // When the tool stopped consuming (its end.time column, local time), in ms since the epoch;
  // 0 if it could not be read.
  int64_t end_epoch_ms = 0;
  // With print_metrics: Fetch requests sent, and records per Fetch response (0 otherwise).
  double fetch_requests = 0;
  double records_per_fetch = 0;
  // With print_metrics: the client's average time from sending a Fetch to its response, ms.
  double fetch_latency_avg_ms = 0;
  std::string output;
};

ProducerPerfResult run_producer_perf(const std::string& bootstrap,
                                     const ProducerPerfOptions& options);
ConsumerPerfResult run_consumer_perf(const std::string& bootstrap,
                                     const ConsumerPerfOptions& options);

// The parsers alone: the final summary line of ProducerPerformance ("N records sent, X
// records/sec (Y MB/sec), A ms avg latency, M ms max latency, P ms 50th, ... 99.9th."), and the
// header + values lines of ConsumerPerformance. std::nullopt when the output has no summary.
std::optional<ProducerPerfResult> parse_producer_perf(const std::string& output);
std::optional<ConsumerPerfResult> parse_consumer_perf(const std::string& output);

}  // namespace kenc::testworld
