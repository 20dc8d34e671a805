#include "tests/world/kafka/continuous_production.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/world/base/process.h"
#include "tests/world/kafka/kafka_distribution.h"

namespace kenc::testworld {
namespace {

using namespace std::chrono_literals;

struct Parsed {
  std::vector<ContinuousProducer::Ack> acks;
  std::vector<ContinuousProducer::Failure> failures;
  int64_t sent = -1;
};

// The producer's output file: JSON lines of ours among whatever else the JVM printed.
Parsed parse_output(const std::string& path) {
  Parsed parsed;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;  // a line still being written
    if (j.contains("ack")) {
      parsed.acks.push_back({j["ack"].get<int64_t>(), j["partition"].get<int32_t>(),
                             j["offset"].get<int64_t>(), j["ms"].get<int64_t>()});
    } else if (j.contains("fail")) {
      parsed.failures.push_back({j["fail"].get<int64_t>(), j["error"].get<std::string>()});
    } else if (j.contains("sent")) {
      parsed.sent = j["sent"].get<int64_t>();
    }
  }
  return parsed;
}

// "<run id>-<seq>-xxx": the sequence number, or -1 when the value is not one of this run's.
int64_t sequence_of(const std::optional<std::string>& value, const std::string& run_id) {
  if (!value || value->rfind(run_id + "-", 0) != 0) return -1;
  size_t start = run_id.size() + 1;
  size_t end = value->find('-', start);
  if (end == std::string::npos || end == start) return -1;
  try {
    return std::stoll(value->substr(start, end - start));
  } catch (const std::exception&) {
    return -1;
  }
}

template <typename T>
std::string first_few(const std::vector<T>& items, size_t n = 10) {
  std::ostringstream out;
  for (size_t i = 0; i < items.size() && i < n; ++i) out << (i ? ", " : "") << items[i];
  if (items.size() > n) out << ", ... (" << items.size() << " in all)";
  return out.str();
}

}  // namespace

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Properties ContinuousProducer::default_props() {
  return {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"retries", "2147483647"},
      {"max.in.flight.requests.per.connection", "5"},
      // Longer than any outage the tests cause: a record is retried, never given up on.
      {"delivery.timeout.ms", "300000"},
      {"request.timeout.ms", "15000"},
      {"max.block.ms", "300000"},
      {"linger.ms", "5"},
      {"reconnect.backoff.max.ms", "1000"},
      {"retry.backoff.max.ms", "1000"},
  };
}

ContinuousProducer::ContinuousProducer(Options options) : options_(std::move(options)) {
  dir_ = std::make_unique<RunDir>("producer-" + options_.run_id);
  output_file_ = dir_->file("producer.out");
  stop_file_ = dir_->file("stop");
  Properties props = default_props();
  for (const auto& [k, v] : options_.extra_props) props[k] = v;
  std::vector<std::string> args = {"produce-continuous",
                                   "--bootstrap",
                                   options_.bootstrap,
                                   "--topic",
                                   options_.topic,
                                   "--run-id",
                                   options_.run_id,
                                   "--keys",
                                   std::to_string(options_.keys),
                                   "--rate",
                                   std::to_string(options_.rate),
                                   "--value-bytes",
                                   std::to_string(options_.value_bytes),
                                   "--duration-ms",
                                   std::to_string(options_.max_duration.count()),
                                   "--stop-file",
                                   stop_file_};
  for (const auto& [k, v] : props) {
    args.push_back("--prop");
    args.push_back(k + "=" + v);
  }
  Process::Options proc;
  proc.argv = KafkaDistribution::get().java_command("KencTestClient", args,
                                                    dir_->file("producer-client.log"), "512m");
  proc.log_file = output_file_;
  process_ = std::make_unique<Process>(proc);
}

ContinuousProducer::~ContinuousProducer() {
  if (process_ && process_->running()) process_->kill();
}

std::vector<ContinuousProducer::Ack> ContinuousProducer::acks_so_far() const {
  return parse_output(output_file_).acks;
}

void ContinuousProducer::wait_for_acks(size_t count, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (acks_so_far().size() >= count) return;
    if (!process_->running()) {
      throw std::runtime_error("the producer exited early: " + tail_file(output_file_));
    }
    std::this_thread::sleep_for(200ms);
  }
  throw std::runtime_error("fewer than " + std::to_string(count) +
                           " acknowledgements in time: " + tail_file(output_file_));
}

std::optional<int64_t> ContinuousProducer::wait_for_ack_after(int64_t since,
                                                              std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<int64_t> first;
    for (const auto& ack : acks_so_far()) {
      if (ack.ms >= since && (!first || ack.ms < *first)) first = ack.ms;
    }
    if (first) return first;
    if (!process_->running()) return std::nullopt;
    std::this_thread::sleep_for(100ms);
  }
  return std::nullopt;
}

ContinuousProducer::Outcome ContinuousProducer::stop(std::chrono::seconds timeout) {
  std::ofstream(stop_file_) << "stop\n";
  Outcome outcome;
  outcome.exit_code = process_->wait(timeout);
  if (outcome.exit_code == -1 && process_->running()) process_->kill();
  Parsed parsed = parse_output(output_file_);
  outcome.sent = parsed.sent;
  outcome.acks = std::move(parsed.acks);
  outcome.failures = std::move(parsed.failures);
  outcome.log_tail = tail_file(output_file_, 3000);
  return outcome;
}

int64_t longest_ack_gap_ms(const std::vector<ContinuousProducer::Ack>& acks, int64_t from_ms,
                           int64_t to_ms) {
  std::vector<int64_t> times;
  for (const auto& ack : acks) times.push_back(ack.ms);
  std::sort(times.begin(), times.end());
  int64_t longest = 0;
  // The gap that starts before the window (the last acknowledgement before the fault) counts.
  for (size_t i = 1; i < times.size(); ++i) {
    if (times[i] < from_ms || times[i - 1] > to_ms) continue;
    longest = std::max(longest, times[i] - times[i - 1]);
  }
  return longest;
}

std::string ExactlyOnceReport::describe() const {
  std::ostringstream out;
  out << "sent " << sent << ", acknowledged " << acked << ", failed sends " << failed
      << ", consumed " << consumed << ", lost " << lost.size() << ", duplicated "
      << duplicated.size() << ", foreign " << foreign.size() << ", out of order " << disorder.size()
      << ", misplaced " << misplaced.size();
  if (!lost.empty()) out << "\n  lost: " << first_few(lost);
  if (!duplicated.empty()) out << "\n  duplicated: " << first_few(duplicated);
  if (!foreign.empty()) out << "\n  foreign: " << first_few(foreign, 3);
  if (!disorder.empty()) out << "\n  out of order: " << first_few(disorder, 5);
  if (!misplaced.empty()) out << "\n  misplaced: " << first_few(misplaced, 5);
  return out.str();
}

ExactlyOnceReport verify_exactly_once(const std::string& bootstrap, const std::string& topic,
                                      const std::string& run_id,
                                      const ContinuousProducer::Outcome& outcome) {
  ExactlyOnceReport report;
  report.sent = outcome.sent < 0 ? 0 : static_cast<size_t>(outcome.sent);
  report.acked = outcome.acks.size();
  report.failed = outcome.failures.size();
  auto records = JavaClient::consume_all(bootstrap, topic, report.acked);
  report.consumed = records.size();

  std::map<int64_t, int> seen;
  std::map<int64_t, std::pair<int32_t, int64_t>> where;  // seq -> (partition, offset)
  std::map<int32_t, std::pair<int64_t, int64_t>> last;   // partition -> (seq, offset)
  // The consumer prints each partition's records in offset order; check the sequence numbers.
  for (const auto& r : records) {
    int64_t seq = sequence_of(r.value, run_id);
    if (seq < 0) {
      report.foreign.push_back(r.value ? r.value->substr(0, 60) : "<null>");
      continue;
    }
    if (++seen[seq] == 2) report.duplicated.push_back(seq);
    where[seq] = {r.partition, r.offset};
    auto it = last.find(r.partition);
    if (it != last.end() && seq <= it->second.first) {
      report.disorder.push_back("partition " + std::to_string(r.partition) + ": seq " +
                                std::to_string(seq) + " at offset " + std::to_string(r.offset) +
                                " after seq " + std::to_string(it->second.first) + " at offset " +
                                std::to_string(it->second.second));
    }
    last[r.partition] = {seq, r.offset};
  }
  for (const auto& ack : outcome.acks) {
    auto it = where.find(ack.seq);
    if (it == where.end()) {
      report.lost.push_back(ack.seq);
    } else if (it->second != std::make_pair(ack.partition, ack.offset)) {
      report.misplaced.push_back("seq " + std::to_string(ack.seq) + " acknowledged at " +
                                 std::to_string(ack.partition) + "/" + std::to_string(ack.offset) +
                                 ", found at " + std::to_string(it->second.first) + "/" +
                                 std::to_string(it->second.second));
    }
  }
  return report;
}

}  // namespace kenc::testworld
