#include "tests/integration/faults/fault_support.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/world/base/run_dir.h"
#include "tests/world/kafka/segment_scan.h"

namespace kenc::testworld::faults {
namespace {

void record(const FaultFigures& f) {
  nlohmann::json j = {{"test", f.name},
                      {"sent", f.sent},
                      {"acknowledged", f.acknowledged},
                      {"verified", f.verified},
                      {"outage_ms", f.outage_ms},
                      {"recovery_ms", f.recovery_ms},
                      {"longest_ack_gap_ms", f.longest_gap_ms},
                      {"first_ack_after_fault_ms", f.first_ack_after_fault_ms},
                      {"at_ms", wall_ms()}};
  std::cout << "FAULT FIGURES " << j.dump() << std::endl;
  std::ofstream(world_dir() + "/fault-figures.jsonl", std::ios::app) << j.dump() << "\n";
  ::testing::Test::RecordProperty("figures", j.dump());
}

}  // namespace

FaultFigures run_under_production(const FaultRun& run, const std::function<FaultTimes()>& inject) {
  FaultFigures figures;
  figures.name = run.name;
  const std::string run_id = "kencfault" + std::to_string(wall_ms());

  ContinuousProducer::Options options;
  options.bootstrap = run.bootstrap;
  options.topic = run.topic;
  options.run_id = run_id;
  options.rate = run.rate;
  ContinuousProducer producer(options);
  // Steady production first: a few seconds' worth of acknowledged records.
  producer.wait_for_acks(static_cast<size_t>(run.rate) * 3);

  FaultTimes times = inject();
  figures.outage_ms = times.restored_ms - times.fault_ms;

  auto first_after_restart = producer.wait_for_ack_after(times.restart_ms);
  EXPECT_TRUE(first_after_restart.has_value())
      << "no record was acknowledged after the restart: " << tail_file(producer.output_file());
  if (first_after_restart) figures.recovery_ms = *first_after_restart - times.restart_ms;
  // Then steady production again before stopping.
  producer.wait_for_acks(producer.acks_so_far().size() + static_cast<size_t>(run.rate) * 3);

  auto outcome = producer.stop();
  EXPECT_EQ(outcome.exit_code, 0) << outcome.log_tail;
  EXPECT_GE(outcome.sent, 0) << "the producer did not report how many it sent: "
                             << outcome.log_tail;
  int64_t first_after_fault = -1;
  for (const auto& ack : outcome.acks) {
    if (ack.ms >= times.fault_ms && (first_after_fault < 0 || ack.ms < first_after_fault)) {
      first_after_fault = ack.ms;
    }
  }
  figures.first_ack_after_fault_ms =
      first_after_fault < 0 ? -1 : first_after_fault - times.fault_ms;
  figures.longest_gap_ms =
      longest_ack_gap_ms(outcome.acks, times.fault_ms, first_after_restart.value_or(wall_ms()));
  figures.sent = outcome.sent < 0 ? 0 : static_cast<size_t>(outcome.sent);
  figures.acknowledged = outcome.acks.size();
  if (!outcome.failures.empty()) {
    ADD_FAILURE() << outcome.failures.size() << " sends failed, first: seq "
                  << outcome.failures.front().seq << ": " << outcome.failures.front().error;
  }
  // Every send ended in an acknowledgement: nothing was given up on.
  EXPECT_EQ(figures.acknowledged, figures.sent) << outcome.log_tail;

  auto report = verify_exactly_once(run.verify_bootstrap, run.topic, run_id, outcome);
  EXPECT_TRUE(report.ok()) << report.describe();
  EXPECT_EQ(report.consumed, report.acked) << report.describe();
  if (report.ok()) figures.verified = report.consumed;

  if (!run.log_dirs.empty()) {
    // Every value starts with "<run id>-" and ends in a run of 'x': either on disk is plaintext.
    const std::vector<std::string> needles = {run_id + "-", std::string(40, 'x')};
    auto scan = scan_segments(run.log_dirs, run.topic, needles);
    EXPECT_GT(scan.files, 0u);
    EXPECT_GT(scan.bytes, static_cast<uint64_t>(figures.acknowledged) * 100)
        << "the segment files hold less than the records written";
    EXPECT_TRUE(scan.matches.empty())
        << scan.matches.size() << " plaintext matches on disk, first: " << scan.matches[0].file
        << "+" << scan.matches[0].offset << " (needle " << scan.matches[0].needle << ")";
  }
  record(figures);
  return figures;
}

}  // namespace kenc::testworld::faults
