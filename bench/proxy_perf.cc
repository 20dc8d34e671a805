// proxy_perf: Kafka's own ProducerPerformance and ConsumerPerformance (1 KiB records) against a
// real broker, directly and through the proxy, in one run. Prints the throughput ratio, the
// producer's latency percentiles, and the proxy's CPU seconds per GB moved.
//
//   proxy_perf [records=300000] [proxy worker threads=1] [rounds=2]
//
// Direct clients use the broker's PLAINTEXT listener. Proxied clients use its SASL_PLAINTEXT
// listener, which advertises the proxy's address (SASL/PLAIN authenticates once per connection;
// the data path is plaintext in both cases). The proxy runs inside this process, so the CPU time
// of this process while the Java tool runs is the proxy's (the driver itself only waits).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "proxy/server/proxy_server.h"
#include "tests/world/kafka/kafka_cluster.h"
#include "tests/world/kafka/kafka_distribution.h"

namespace {

using kenc::testworld::KafkaCluster;
using kenc::testworld::KafkaDistribution;

constexpr int kRecordBytes = 1024;

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

struct ProduceResult {
  double records_per_sec = 0;
  double mb_per_sec = 0;
  double avg_ms = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0, p999_ms = 0;
  double proxy_cpu_seconds = 0;
};

struct ConsumeResult {
  double mb_per_sec = 0;
  double records_per_sec = 0;
  double proxy_cpu_seconds = 0;
};

std::string write_properties(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path);
  for (const auto& l : lines) {
    out << l << "\n";
  }
  return path;
}

ProduceResult produce(const std::string& topic, long records, const std::string& config_file) {
  const double cpu_before = process_cpu_seconds();
  auto result = KafkaDistribution::get().run_java(
      "org.apache.kafka.tools.ProducerPerformance",
      {"--topic", topic, "--num-records", std::to_string(records), "--record-size",
       std::to_string(kRecordBytes), "--throughput", "-1", "--producer.config", config_file},
      "", std::chrono::minutes(10));
  ProduceResult r;
  r.proxy_cpu_seconds = process_cpu_seconds() - cpu_before;
  // "N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency,
  //  P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th."
  std::regex summary(
      R"((\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th)");
  std::smatch m;
  if (result.exit_code != 0 || !std::regex_search(result.output, m, summary)) {
    throw std::runtime_error("ProducerPerformance failed:\n" + result.output);
  }
  r.records_per_sec = std::stod(m[2]);
  r.mb_per_sec = std::stod(m[3]);
  r.avg_ms = std::stod(m[4]);
  r.p50_ms = std::stod(m[6]);
  r.p95_ms = std::stod(m[7]);
  r.p99_ms = std::stod(m[8]);
  r.p999_ms = std::stod(m[9]);
  return r;
}

ConsumeResult consume(const std::string& bootstrap, const std::string& topic, long records,
                      const std::string& config_file) {
  const double cpu_before = process_cpu_seconds();
  auto result = KafkaDistribution::get().run_java(
      "org.apache.kafka.tools.ConsumerPerformance",
      {"--bootstrap-server", bootstrap, "--topic", topic, "--messages", std::to_string(records),
       "--consumer.config", config_file, "--timeout", "120000"},
      "", std::chrono::minutes(10));
  ConsumeResult r;
  r.proxy_cpu_seconds = process_cpu_seconds() - cpu_before;
  // CSV: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
  //      rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  // Throughput over the fetch time excludes the group join, which is not data movement.
  std::istringstream lines(result.output);
  std::string line;
  std::string last;
  while (std::getline(lines, line)) {
    if (std::count(line.begin(), line.end(), ',') >= 9 &&
        line.find("start.time") == std::string::npos) {
      last = line;
    }
  }
  if (result.exit_code != 0 || last.empty()) {
    throw std::runtime_error("ConsumerPerformance failed:\n" + result.output);
  }
  std::vector<std::string> fields;
  std::stringstream csv(last);
  std::string field;
  while (std::getline(csv, field, ',')) {
    fields.push_back(field);
  }
  const double consumed = std::stod(fields[4]);
  if (consumed < static_cast<double>(records)) {
    throw std::runtime_error("ConsumerPerformance read only " + fields[4] + " records:\n" +
                             result.output);
  }
  r.mb_per_sec = std::stod(fields[8]);
  r.records_per_sec = std::stod(fields[9]);
  return r;
}

// Points the SASL_PLAINTEXT listener's advertised address at the proxy and keeps the PLAINTEXT
// one on the broker: the world advertises its own ports, so edit the broker's properties file
// and restart it with the same data.
void advertise_proxy_for_sasl(KafkaCluster& cluster, uint16_t proxy_port) {
  const auto& b = cluster.brokers()[0];
  const std::string file = b.log_dir + ".properties";
  std::ifstream in(file);
  std::stringstream edited;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("advertised.listeners=", 0) == 0) {
      line = "advertised.listeners=PLAINTEXT://127.0.0.1:" + std::to_string(b.port) +
             ",SASL_PLAINTEXT://127.0.0.1:" + std::to_string(proxy_port);
    }
    edited << line << "\n";
  }
  in.close();
  cluster.stop_broker(0);
  std::ofstream(file) << edited.str();
  cluster.start_broker(0);
  cluster.wait_for_brokers();
}

void print_row(const char* what, const ProduceResult& r) {
  std::printf(
      "  %-8s produce %9.0f rec/s %8.2f MB/s  latency avg %6.1f p50 %4.0f p95 %4.0f p99 %4.0f "
      "p99.9 %4.0f ms\n",
      what, r.records_per_sec, r.mb_per_sec, r.avg_ms, r.p50_ms, r.p95_ms, r.p99_ms, r.p999_ms);
}

void print_row(const char* what, const ConsumeResult& r) {
  std::printf("  %-8s consume %9.0f rec/s %8.2f MB/s\n", what, r.records_per_sec, r.mb_per_sec);
}

}  // namespace

int main(int argc, char** argv) {
  const long records = argc > 1 ? std::stol(argv[1]) : 300000;
  const size_t workers = argc > 2 ? std::stoul(argv[2]) : 1;
  const int rounds = argc > 3 ? std::stoi(argv[3]) : 2;
  try {
    KafkaCluster::Options options;
    options.label = "proxy-perf";
    options.fast_start_jvm = false;
    options.heap = "1g";
    options.sasl_plain_users = {{"bench", "bench-secret"}};
    KafkaCluster cluster(options);
    const auto& broker = cluster.brokers()[0];

    kenc::proxy::ProxyServerOptions proxy_options;
    proxy_options.worker_threads = workers;
    kenc::proxy::VirtualClusterSpec spec;
    spec.name = "bench";
    spec.listen = {"127.0.0.1", 0};
    spec.upstream_servers = {{"127.0.0.1", static_cast<uint16_t>(broker.sasl_port)}};
    proxy_options.clusters.push_back(spec);
    kenc::proxy::ProxyServer proxy(proxy_options);
    if (auto status = proxy.start(); !status.ok()) {
      throw std::runtime_error("proxy: " + status.error().to_string());
    }
    advertise_proxy_for_sasl(cluster, proxy.port(0));

    const std::string dir = cluster.run_dir();
    const std::string direct_bootstrap = "127.0.0.1:" + std::to_string(broker.port);
    const std::string proxy_bootstrap = "127.0.0.1:" + std::to_string(proxy.port(0));
    const std::string sasl =
        "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
        "username=\"bench\" password=\"bench-secret\";";
    const auto direct_producer = write_properties(
        dir + "/direct-producer.properties",
        {"bootstrap.servers=" + direct_bootstrap, "acks=1", "linger.ms=5", "batch.size=65536"});
    const auto proxy_producer = write_properties(
        dir + "/proxy-producer.properties",
        {"bootstrap.servers=" + proxy_bootstrap, "acks=1", "linger.ms=5", "batch.size=65536",
         "security.protocol=SASL_PLAINTEXT", "sasl.mechanism=PLAIN", sasl});
    const auto direct_consumer =
        write_properties(dir + "/direct-consumer.properties", {"auto.offset.reset=earliest"});
    const auto proxy_consumer =
        write_properties(dir + "/proxy-consumer.properties",
                         {"auto.offset.reset=earliest", "security.protocol=SASL_PLAINTEXT",
                          "sasl.mechanism=PLAIN", sasl});

    std::printf(
        "proxy_perf: %ld records of %d bytes per run, %zu proxy worker thread(s), %d rounds\n",
        records, kRecordBytes, workers, rounds);
    std::vector<double> produce_ratios;
    std::vector<double> consume_ratios;
    double cpu_seconds = 0;
    double gb_moved = 0;
    for (int round = 0; round < rounds; ++round) {
      std::printf("round %d\n", round + 1);
      // Each side writes its own topic (same layout), so neither reads the other's data.
      const std::string direct_topic = "perf-direct-" + std::to_string(round);
      const std::string proxy_topic = "perf-proxy-" + std::to_string(round);
      cluster.create_topic(direct_topic, 3);
      cluster.create_topic(proxy_topic, 3);
      auto dp = produce(direct_topic, records, direct_producer);
      print_row("direct", dp);
      auto pp = produce(proxy_topic, records, proxy_producer);
      print_row("proxy", pp);
      auto dc = consume(direct_bootstrap, direct_topic, records, direct_consumer);
      print_row("direct", dc);
      auto pc = consume(proxy_bootstrap, proxy_topic, records, proxy_consumer);
      print_row("proxy", pc);
      const double produce_ratio = pp.records_per_sec / dp.records_per_sec;
      const double consume_ratio = pc.records_per_sec / dc.records_per_sec;
      std::printf("  ratio proxy/direct: produce %.3f, consume %.3f\n", produce_ratio,
                  consume_ratio);
      produce_ratios.push_back(produce_ratio);
      consume_ratios.push_back(consume_ratio);
      cpu_seconds += pp.proxy_cpu_seconds + pc.proxy_cpu_seconds;
      gb_moved += 2.0 * static_cast<double>(records) * kRecordBytes / 1e9;
    }
    // The median of the rounds: a shared machine makes single runs noisy in both directions.
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      const size_t n = v.size();
      return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    };
    std::printf(
        "median ratio proxy/direct over %d rounds: produce %.3f, consume %.3f (target >= 0.95)\n",
        rounds, median(produce_ratios), median(consume_ratios));
    std::printf("proxy CPU: %.2f s for %.2f GB of record payload = %.2f CPU s/GB\n", cpu_seconds,
                gb_moved, cpu_seconds / gb_moved);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "proxy_perf failed: %s\n", e.what());
    return 1;
  }
}
