#include "tests/world/kafka/kafka_perf.h"

#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "tests/world/base/run_dir.h"
#include "tests/world/kafka/kafka_distribution.h"

namespace kenc::testworld {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) {
    const auto begin = field.find_first_not_of(' ');
    const auto end = field.find_last_not_of(" \r");
    out.push_back(begin == std::string::npos ? "" : field.substr(begin, end - begin + 1));
  }
  return out;
}

double to_double(const std::string& s) {
  size_t used = 0;
  double v = std::stod(s, &used);
  if (used != s.size()) throw std::invalid_argument("not a number: " + s);
  return v;
}

// Full JIT (no fast start): these runs are measurements.
CommandResult run_tool(const std::string& main_class, const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout) {
  const auto& dist = KafkaDistribution::get();
  return run_command(dist.java_command(main_class, args, "", "512m", /*fast_start=*/false), "",
                     timeout);
}

}  // namespace

std::optional<ProducerPerfResult> parse_producer_perf(const std::string& output) {
  for (const auto& line : lines_of(output)) {
    if (line.find("records sent") == std::string::npos ||
        line.find("99.9th") == std::string::npos) {
      continue;
    }
    ProducerPerfResult r;
    long long records = 0;
    int n = std::sscanf(line.c_str(),
                        "%lld records sent, %lf records/sec (%lf MB/sec), %lf ms avg latency, "
                        "%lf ms max latency, %lf ms 50th, %lf ms 95th, %lf ms 99th, %lf ms 99.9th",
                        &records, &r.records_per_sec, &r.mb_per_sec, &r.avg_latency_ms,
                        &r.max_latency_ms, &r.p50_ms, &r.p95_ms, &r.p99_ms, &r.p999_ms);
    if (n != 9) continue;
    r.records = records;
    r.output = output;
    return r;
  }
  return std::nullopt;
}

// "2026-11-29 13:10:00:123" (ConsumerPerformance's time columns, in the JVM's local time zone,
// which is the system's) to ms since the epoch; 0 if it does not parse.
int64_t local_time_to_epoch_ms(const std::string& text) {
  std::tm tm{};
  int millis = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis) != 7) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  const std::time_t seconds = std::mktime(&tm);
  return seconds < 0 ? 0 : static_cast<int64_t>(seconds) * 1000 + millis;
}

// A fetch manager metric of the whole client from --print-metrics, e.g.
// "consumer-fetch-manager-metrics:fetch-total:{client-id=perf-consumer-client}   : 56.000"
// (the per-topic series carry a topic tag as well and are skipped); 0 when absent.
double client_metric(const std::vector<std::string>& lines, const std::string& name) {
  const std::string key = "consumer-fetch-manager-metrics:" + name + ":{client-id=";
  for (const auto& line : lines) {
    if (line.rfind(key, 0) != 0 || line.find("topic=") != std::string::npos) continue;
    std::string value = line.substr(line.rfind(':') + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of(" \r") + 1);
    try {
      return to_double(value);
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

std::optional<ConsumerPerfResult> parse_consumer_perf(const std::string& output) {
  const auto lines = lines_of(output);
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    if (lines[i].find("data.consumed.in.nMsg") == std::string::npos) continue;
    const auto names = split_csv(lines[i]);
    const auto values = split_csv(lines[i + 1]);
    if (names.size() != values.size()) return std::nullopt;
    std::map<std::string, std::string> field;
    for (size_t k = 0; k < names.size(); ++k) field[names[k]] = values[k];
    try {
      ConsumerPerfResult r;
      r.mb = to_double(field.at("data.consumed.in.MB"));
      r.mb_per_sec = to_double(field.at("MB.sec"));
      r.messages = static_cast<int64_t>(to_double(field.at("data.consumed.in.nMsg")));
      r.messages_per_sec = to_double(field.at("nMsg.sec"));
      r.rebalance_ms = static_cast<int64_t>(to_double(field.at("rebalance.time.ms")));
      r.fetch_ms = static_cast<int64_t>(to_double(field.at("fetch.time.ms")));
      r.fetch_mb_per_sec = to_double(field.at("fetch.MB.sec"));
      r.fetch_messages_per_sec = to_double(field.at("fetch.nMsg.sec"));
      r.end_epoch_ms = local_time_to_epoch_ms(field.count("end.time") ? field["end.time"] : "");
      r.fetch_requests = client_metric(lines, "fetch-total");
      r.records_per_fetch = client_metric(lines, "records-per-request-avg");
      r.fetch_latency_avg_ms = client_metric(lines, "fetch-latency-avg");
      r.output = output;
      return r;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

ProducerPerfResult run_producer_perf(const std::string& bootstrap,
                                     const ProducerPerfOptions& options) {
  std::vector<std::string> args = {"--topic",          options.topic,
                                   "--num-records",    std::to_string(options.num_records),
                                   "--record-size",    std::to_string(options.record_size),
                                   "--throughput",     std::to_string(options.throughput),
                                   "--producer-props", "bootstrap.servers=" + bootstrap};
  for (const auto& [k, v] : options.producer_props) args.push_back(k + "=" + v);
  auto result = run_tool("org.apache.kafka.tools.ProducerPerformance", args, options.timeout);
  auto parsed = parse_producer_perf(result.output);
  if (result.exit_code != 0 || !parsed) {
    throw std::runtime_error("ProducerPerformance failed (exit " +
                             std::to_string(result.exit_code) + "): " + result.output);
  }
  return *parsed;
}

ConsumerPerfResult run_consumer_perf(const std::string& bootstrap,
                                     const ConsumerPerfOptions& options) {
  std::vector<std::string> args = {
      "--bootstrap-server", bootstrap,    "--topic",
      options.topic,        "--messages", std::to_string(options.messages)};
  std::string config_file;
  if (!options.consumer_props.empty()) {
    static int counter = 0;
    config_file = world_dir() + "/consumer-perf-" + std::to_string(counter++) + ".properties";
    std::ofstream out(config_file);
    for (const auto& [k, v] : options.consumer_props) out << k << "=" << v << "\n";
    args.insert(args.end(), {"--consumer.config", config_file});
  }
  if (options.print_metrics) args.push_back("--print-metrics");
  auto result = run_tool("org.apache.kafka.tools.ConsumerPerformance", args, options.timeout);
  if (!config_file.empty()) std::remove(config_file.c_str());
  auto parsed = parse_consumer_perf(result.output);
  if (result.exit_code != 0 || !parsed) {
    throw std::runtime_error("ConsumerPerformance failed (exit " +
                             std::to_string(result.exit_code) + "): " + result.output);
  }
  return *parsed;
}

}  // namespace kenc::testworld
