#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tests/world/kafka/continuous_production.h"

namespace kenc::testworld::faults {

// When a fault test broke and repaired a component (wall_ms() times).
struct FaultTimes {
  int64_t fault_ms = 0;     // the component was killed, stopped or paused
  int64_t restart_ms = 0;   // the restart was issued
  int64_t restored_ms = 0;  // the component was serving again (port open, unsealed, ...)
};

// The figures one fault test reports (printed, and appended as a JSON line to
// <world>/fault-figures.jsonl for docs/reliability.md).
struct FaultFigures {
  std::string name;
  size_t sent = 0;
  size_t acknowledged = 0;
  size_t verified = 0;  // consumed exactly once, in order, where acknowledged
  int64_t outage_ms = 0;
  int64_t recovery_ms = -1;    // restart issued -> first acknowledgement after it
  int64_t longest_gap_ms = 0;  // longest pause between acknowledgements around the fault
  int64_t first_ack_after_fault_ms = -1;
};

// One fault test: creates `topic` (3 partitions, replication `replication`) on the stack's
// Kafka, runs a ContinuousProducer through `bootstrap`, waits for steady production, calls
// `inject` (which breaks and repairs one component and returns the times), keeps producing a
// while, stops, verifies exactly-once order through `verify_bootstrap`, scans the broker's log
// segments for the plaintext, and records the figures. Every check is a gtest assertion.
struct FaultRun {
  std::string name;
  std::string bootstrap;
  std::string verify_bootstrap;
  std::string topic;
  std::vector<std::string> log_dirs;  // empty: no segment scan (plaintext topic)
  int rate = 300;
};
FaultFigures run_under_production(const FaultRun& run, const std::function<FaultTimes()>& inject);

}  // namespace kenc::testworld::faults
