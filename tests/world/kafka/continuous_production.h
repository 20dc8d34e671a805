#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/world/base/run_dir.h"
#include "tests/world/kafka/java_client.h"

namespace kenc::testworld {

// Wall-clock milliseconds since the epoch: the clock the Java producer stamps acknowledgements
// with, so fault times taken by the test and acknowledgement times compare directly.
int64_t wall_ms();

// The fault tests' load: the real Java producer (idempotent, acks=all, unbounded retries, a
// delivery timeout far longer than any outage) sending numbered records at a steady rate in a
// JVM of its own, until stop(). Keys are "key-<seq % keys>", so every partition sees increasing
// sequence numbers; values are "<run id>-<seq>-xxx..." (recognisable plaintext for the segment
// scan). Acknowledgements are read from the producer's output as they happen.
class ContinuousProducer {
 public:
  struct Options {
    std::string bootstrap;
    std::string topic;
    std::string run_id;  // unique per test: the prefix of every value
    int keys = 12;
    int rate = 300;  // records per second
    int value_bytes = 100;
    std::chrono::milliseconds max_duration = std::chrono::minutes(10);
    Properties extra_props;  // added to (and overriding) the defaults below
  };
  struct Ack {
    int64_t seq = 0;
    int32_t partition = -1;
    int64_t offset = -1;
    int64_t ms = 0;
  };
  struct Failure {
    int64_t seq = 0;
    std::string error;
  };
  struct Outcome {
    int64_t sent = -1;  // records handed to send(): sequence numbers 0 .. sent-1
    std::vector<Ack> acks;
    std::vector<Failure> failures;
    int exit_code = -1;
    std::string log_tail;
  };

  // The producer settings every fault test runs with.
  static Properties default_props();

  explicit ContinuousProducer(Options options);  // starts the JVM; throws if it cannot
  ~ContinuousProducer();
  ContinuousProducer(const ContinuousProducer&) = delete;
  ContinuousProducer& operator=(const ContinuousProducer&) = delete;

  // Acknowledgements so far (in the order the producer printed them).
  std::vector<Ack> acks_so_far() const;
  // Blocks until at least `count` records were acknowledged; throws on timeout or if the
  // producer exited.
  void wait_for_acks(size_t count, std::chrono::seconds timeout = std::chrono::seconds(120));
  // Blocks until a record is acknowledged at or after wall_ms() `since`; returns its time, or
  // nullopt on timeout.
  std::optional<int64_t> wait_for_ack_after(
      int64_t since, std::chrono::seconds timeout = std::chrono::seconds(180));
  // Asks the producer to stop, waits until every outstanding send has an outcome, and returns
  // everything it printed.
  Outcome stop(std::chrono::seconds timeout = std::chrono::seconds(400));

  const std::string& output_file() const { return output_file_; }

 private:
  Options options_;
  std::unique_ptr<RunDir> dir_;
  std::string output_file_;
  std::string stop_file_;
  std::unique_ptr<Process> process_;
};

// The longest time between two consecutive acknowledgements (by their time stamps) within
// [from_ms, to_ms]: how long production stalled around a fault.
int64_t longest_ack_gap_ms(const std::vector<ContinuousProducer::Ack>& acks, int64_t from_ms,
                           int64_t to_ms);

// What the verifier found reading the topic back.
struct ExactlyOnceReport {
  size_t sent = 0;
  size_t acked = 0;
  size_t failed = 0;
  size_t consumed = 0;
  std::vector<int64_t> lost;           // acknowledged, never consumed
  std::vector<int64_t> duplicated;     // consumed more than once
  std::vector<std::string> foreign;    // consumed values that are not this run's records
  std::vector<std::string> disorder;   // "partition p: seq a at offset x after seq b"
  std::vector<std::string> misplaced;  // consumed in another partition/offset than acknowledged

  bool ok() const {
    return lost.empty() && duplicated.empty() && foreign.empty() && disorder.empty() &&
           misplaced.empty() && failed == 0 && acked > 0;
  }
  std::string describe() const;
};

// Reads every partition of the topic from the beginning to its current end through `bootstrap`
// (the real Java consumer) and checks: every acknowledged record is there once, nothing is
// there twice, each partition's sequence numbers increase, each record sits at the partition
// and offset its acknowledgement named, and no send failed.
ExactlyOnceReport verify_exactly_once(const std::string& bootstrap, const std::string& topic,
                                      const std::string& run_id,
                                      const ContinuousProducer::Outcome& outcome);

}  // namespace kenc::testworld
