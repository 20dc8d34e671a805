// proxy_perf: Kafka's own ProducerPerformance and ConsumerPerformance against a real broker
// directly, through a pass-through kenc-proxy, and through a kenc-proxy that encrypts, with
// 100-byte and 1 KiB records, in one run. Prints per-run figures, then per mode and size the
// median throughput ratio to direct over the rounds, producer latency percentiles, the proxy's
// CPU seconds per GB of record payload, and the bytes encryption adds per record on disk.
//
//   proxy_perf [records of 1 KiB per run=100000] [rounds=3] [proxy worker threads=2]
//
// 100-byte runs move 5x as many records. Both proxies are the real kenc-proxy daemon (separate
// processes, so /proc/<pid>/stat gives each one's CPU time), with port-per-broker gateways in
// front of the same broker; the encrypting one talks to the real kenc-keybroker daemon (local
// KMS, KEKs created on first use) over mutual TLS. Every run writes its own topic; within a
// round the order of the modes rotates, so a machine getting busier or quieter does not favour
// one mode. Each ratio compares runs of the same round.
//
// With KENC_PERF_BASELINE_PROXY=<path of another kenc-proxy binary> (e.g. a build of an older
// commit), that binary runs as a fourth mode, "baseline", a pass-through proxy like "proxy", so
// a change to the data path is measured against its predecessor in the same run. With
// KENC_PERF_BASELINE_ENCRYPTS=1 as well, the baseline binary runs the encrypting proxy's
// configuration instead (same key broker, its own topics under the encryption rule), to measure
// a change to the encryption path the same way.
//
// Each run also says where the machine's CPU went while the tool measured (all cores busy, and
// the shares of the proxy, the broker and the rest, mostly the tool's JVM), and each consume run
// how many Fetch requests the consumer sent and the records per response (its own metrics), so
// a ratio can be told apart as bound by CPU or by the wait for each fetch. The summary adds,
// per mode, the ratio a run would reach with the cores as busy as in the direct run (the
// machine's CPU time per record, direct / this mode): the ceiling that sharing the cores sets.
//
// With KENC_PERF_PROXY_OWN_CORE=1 the proxies get the last core to themselves and everything
// else (the broker, the key broker, the perf tools) runs on the other cores, in every mode: the
// proxy as deployed, on hosts of its own, instead of taking CPU from the broker and the client.
// The direct runs then have one core less than in the default layout, like the proxied ones.
//
// With KENC_PERF_CLIENT_OWN_CORE=1 the perf tools get the first core to themselves and the
// servers (the broker, the key broker, the proxies) share the other cores, in every mode: the
// client on a host of its own, as in a deployment, so that the extra bytes the broker receives,
// stores and sends for encrypted records are not charged to the client's CPU. The proxies then
// share their cores with the broker, so their CPU is charged to it instead.
//
// For experiments: KENC_PERF_SIZES=100 (or 1024) runs one record size only;
// KENC_PERF_PRODUCER_PROPS="key=value,key=value" adds producer settings to (or overrides) the
// defaults below, in every mode; KENC_PERF_PRODUCE_ONLY=1 skips the consume runs;
// KENC_PERF_BROKER_NICE=-5 runs the broker's threads at that nice value, ahead of the tools';
// KENC_PERF_ENCRYPTION_YAML="fetch_read_ahead: false" adds keys to the encrypting proxy's
// `encryption:` block (one per line). KENC_PERF_DELETE_TOPICS=0 keeps each round's topics; by
// default they are deleted at the end of their round, so that every round starts with the same
// topics and log data on the broker and the rounds' logs do not fill the machine's memory (5
// rounds of both sizes write about 26 GB).
#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/world/base/process.h"
#include "tests/world/kafka/kafka_perf.h"
#include "tests/world/stack/encryption_stack.h"
#include "tests/world/stack/proxy_daemon.h"

namespace {

using kenc::testworld::EncryptionStack;
using kenc::testworld::ProxyDaemon;

// A 10-character KEK name: the size the "bytes added per record" target is stated for.
constexpr const char* kKek = "bench-kek1";

enum Mode { kDirect = 0, kPassthrough = 1, kEncrypt = 2, kBaseline = 3 };
constexpr const char* kModeNames[] = {"direct", "proxy", "proxy+enc", "baseline"};

// What /proc/<pid>/stat says of a proxy: CPU time and minor page faults (a fault per page of
// memory the allocator handed back to the kernel and the proxy touched again).
struct ProcStat {
  double cpu_seconds = 0;
  double minor_faults = 0;
};

ProcStat proc_stat_of(pid_t pid) {
  if (pid == 0) {
    return {};
  }
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start after the last ')'.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  // minflt is field 10 of the file, utime and stime 14 and 15 (8, 12 and 13 after the name).
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return {(std::stod(fields.at(11)) + std::stod(fields.at(12))) / ticks, std::stod(fields.at(7))};
}

// Where the machine's CPU went while a perf tool was measuring: all cores together (/proc/stat),
// the proxy in the path and the broker, sampled every 20 ms by a thread so that a run's figures
// cover the tool's measured window only (not its JVM start-up and JIT warm-up, which can take
// longer than a short run). A window whose cores were busy nearly all the time was bound by
// CPU: then whatever the proxy spends is taken from the broker and the client.
class CpuSampler {
 public:
  struct Sample {
    std::chrono::system_clock::time_point at;
    double busy = 0, total = 0;       // seconds of all cores
    std::vector<double> process_cpu;  // seconds, per watched pid
  };

  explicit CpuSampler(std::vector<pid_t> pids) : pids_(std::move(pids)) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        Sample sample = take();
        {
          std::lock_guard lock(mutex_);
          samples_.push_back(std::move(sample));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  ~CpuSampler() {
    stop_ = true;
    thread_.join();
  }
  CpuSampler(const CpuSampler&) = delete;
  CpuSampler& operator=(const CpuSampler&) = delete;

  // The machine's CPU over [from, to]: how busy all cores were, and the cores used by the
  // proxy in the path and by the broker (the rest is mostly the tool's JVM).
  struct Window {
    bool valid = false;
    double busy_fraction = 0;  // of all cores' time
    double busy_cores = 0;     // cores' worth of busy time, every process
    double proxy_cores = 0, broker_cores = 0;

    // "cores busy 97%: proxy 0.42, broker 0.61, rest 0.91"
    std::string describe() const {
      if (!valid) return "cores busy ?";
      char text[160];
      std::snprintf(text, sizeof text, "cores busy %3.0f%%: proxy %.2f, broker %.2f, rest %.2f",
                    100 * busy_fraction, proxy_cores, broker_cores,
                    busy_cores - proxy_cores - broker_cores);
      return text;
    }
  };

  Window window(std::chrono::system_clock::time_point from,
                std::chrono::system_clock::time_point to, pid_t proxy_pid, pid_t broker_pid) {
    std::lock_guard lock(mutex_);
    const Sample* first = nullptr;
    const Sample* last = nullptr;
    for (const auto& sample : samples_) {
      if (first == nullptr && sample.at >= from) first = &sample;
      if (sample.at <= to) last = &sample;
    }
    if (first == nullptr || last == nullptr || last->total - first->total <= 0) {
      return {};
    }
    const double wall = std::chrono::duration<double>(last->at - first->at).count();
    const double busy = last->busy - first->busy;
    auto cores_of = [&](pid_t pid) {
      for (size_t i = 0; i < pids_.size(); ++i) {
        if (pids_[i] == pid && pid != 0) {
          return (last->process_cpu[i] - first->process_cpu[i]) / wall;
        }
      }
      return 0.0;
    };
    return {.valid = true,
            .busy_fraction = busy / (last->total - first->total),
            .busy_cores = busy / wall,
            .proxy_cores = cores_of(proxy_pid),
            .broker_cores = cores_of(broker_pid)};
  }

 private:
  Sample take() const {
    Sample sample;
    sample.at = std::chrono::system_clock::now();
    std::ifstream in("/proc/stat");
    std::string cpu;
    in >> cpu;  // the "cpu" line: every core together, in clock ticks
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double value = 0;
    for (int field = 0; field < 8 && in >> value; ++field) {
      sample.total += value / ticks;
      if (field != 3 && field != 4) sample.busy += value / ticks;  // not idle or iowait
    }
    for (pid_t pid : pids_) sample.process_cpu.push_back(proc_stat_of(pid).cpu_seconds);
    return sample;
  }

  std::vector<pid_t> pids_;
  std::mutex mutex_;
  std::vector<Sample> samples_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Calls `apply(thread id)` for every thread of `pid` (a running process). Affinity and nice
// values are per thread in Linux; threads started later inherit them from their creator.
template <typename Apply>
void for_each_thread(pid_t pid, Apply apply) {
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = opendir(tasks.c_str());
  if (dir == nullptr) throw std::runtime_error("cannot list " + tasks);
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    // A thread that ended meanwhile is no error.
    apply(static_cast<pid_t>(std::stol(entry->d_name)));
  }
  closedir(dir);
}

// Restricts every thread of `pid` to `cores`.
void pin_process(pid_t pid, const cpu_set_t& cores) {
  for_each_thread(pid, [&](pid_t tid) { sched_setaffinity(tid, sizeof cores, &cores); });
}

// Sets the nice value of every thread of `pid` (a negative one needs root).
void renice_process(pid_t pid, int nice) {
  for_each_thread(pid, [&](pid_t tid) {
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(tid), nice) != 0 && errno != ESRCH) {
      throw std::runtime_error("setpriority: " + std::string(std::strerror(errno)));
    }
  });
}

cpu_set_t cores_from_to(long first, long last) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (long c = first; c <= last; ++c) CPU_SET(static_cast<int>(c), &set);
  return set;
}

double load_average() {
  double load = 0;
  std::ifstream("/proc/loadavg") >> load;
  return load;
}

// The machine's TCP congestion control for new connections: every connection of a run, on
// loopback, uses it, and it changes the figures (see docs/benchmarks.md).
std::string tcp_congestion_control() {
  std::string name = "unknown";
  std::ifstream("/proc/sys/net/ipv4/tcp_congestion_control") >> name;
  return name;
}

// TCP segments the machine has retransmitted since boot (RetransSegs in /proc/net/snmp). On
// loopback nothing is lost, so each one is a spurious retransmission, and a stall with it.
double tcp_retransmitted_segments() {
  std::ifstream in("/proc/net/snmp");
  std::string names;
  std::string values;
  while (std::getline(in, names) && std::getline(in, values)) {
    if (names.rfind("Tcp:", 0) != 0) continue;
    std::istringstream n(names);
    std::istringstream v(values);
    for (std::string name, value; n >> name && v >> value;) {
      if (name == "RetransSegs") return std::stod(value);
    }
  }
  return 0;
}

// What a perf tool run cost outside the proxy: the CPU time of this process's waited-for
// children (the tool's JVM is the only child that ends during its run), split into user and
// system time, and the TCP segments the machine retransmitted meanwhile.
struct ToolSnapshot {
  double user_seconds = 0;
  double system_seconds = 0;
  double retransmitted_segments = 0;

  static ToolSnapshot now() {
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    const auto seconds = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return {seconds(usage.ru_utime), seconds(usage.ru_stime), tcp_retransmitted_segments()};
  }
};

// "tool CPU 4.1 s user + 0.3 s system; 12 TCP segments retransmitted"
std::string describe_tool_run(const ToolSnapshot& before, const ToolSnapshot& after) {
  char text[128];
  std::snprintf(text, sizeof text,
                "tool CPU %.1f s user + %.1f s system; "
                "%.0f TCP segments retransmitted",
                after.user_seconds - before.user_seconds,
                after.system_seconds - before.system_seconds,
                after.retransmitted_segments - before.retransmitted_segments);
  return text;
}

// Sizes of a topic's log segments: total bytes and record batches, from the batches' length
// fields (base offset int64, batch length int32, then the batch).
struct LogSize {
  uint64_t bytes = 0;
  uint64_t batches = 0;
};

LogSize log_size(const std::vector<std::string>& log_dirs, const std::string& topic) {
  LogSize out;
  for (const auto& dir : log_dirs) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(topic + "-", 0) != 0 ||
          name.find_first_not_of("0123456789", topic.size() + 1) != std::string::npos) {
        continue;
      }
      for (const auto& file : std::filesystem::directory_iterator(entry.path())) {
        if (file.path().extension() != ".log") continue;
        std::ifstream in(file.path(), std::ios::binary);
        std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
        size_t pos = 0;
        while (pos + 12 <= b.size()) {
          const uint32_t len = (uint32_t{b[pos + 8]} << 24) | (uint32_t{b[pos + 9]} << 16) |
                               (uint32_t{b[pos + 10]} << 8) | uint32_t{b[pos + 11]};
          if (len == 0 || pos + 12 + len > b.size()) break;
          pos += 12 + len;
          ++out.batches;
        }
        out.bytes += pos;
      }
    }
  }
  return out;
}

struct Run {
  double records_per_sec = 0;
  double p50 = 0, p95 = 0, p99 = 0, p999 = 0, avg = 0;
  double cpu_seconds = 0;  // of the proxy in the path (0 for direct)
  // The whole machine's busy CPU time per record while the tool measured (0 when unknown):
  // what a run costs when every process's share counts, the proxy's and the broker's included.
  double machine_us_per_record = 0;
};

double machine_us_per_record(const CpuSampler::Window& w, double records_per_sec) {
  return w.valid && records_per_sec > 0 ? w.busy_cores / records_per_sec * 1e6 : 0;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Waits until every record of `topic` is on disk in full batches (the broker flushes to the page
// cache at once; segment files are readable as soon as the produce completes).
// The encrypting proxy's fetch read-ahead counters by outcome, from its /metrics text.
std::map<std::string, double> read_ahead_counts(const std::string& metrics) {
  std::map<std::string, double> counts;
  std::istringstream lines(metrics);
  std::string line;
  const std::string family = "kenc_proxy_encryption_fetch_read_aheads_total{";
  const std::string label = "outcome=\"";
  while (std::getline(lines, line)) {
    if (line.rfind(family, 0) != 0) continue;
    const size_t at = line.find(label);
    const size_t close = line.rfind(' ');
    if (at == std::string::npos || close == std::string::npos) continue;
    const size_t from = at + label.size();
    counts[line.substr(from, line.find('"', from) - from)] += std::stod(line.substr(close + 1));
  }
  return counts;
}

void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(300)); }

bool env_is_1(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && std::string(value) == "1";
}

// "a,b,c" -> {"a", "b", "c"}; empty items dropped.
std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t end = std::min(list.find(',', start), list.size());
    if (end > start) items.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

std::vector<int> record_sizes() {
  const char* env = std::getenv("KENC_PERF_SIZES");
  if (env == nullptr) return {100, 1024};
  std::vector<int> sizes;
  for (const auto& item : split_list(env)) {
    const int size = std::stoi(item);
    if (size != 100 && size != 1024) {
      throw std::invalid_argument("KENC_PERF_SIZES: record sizes are 100 and 1024");
    }
    sizes.push_back(size);
  }
  if (sizes.empty()) throw std::invalid_argument("KENC_PERF_SIZES: no record size given");
  return sizes;
}

// The producer settings of every run: the defaults, then KENC_PERF_PRODUCER_PROPS.
kenc::testworld::Properties producer_props() {
  kenc::testworld::Properties props = {{"acks", "1"}, {"linger.ms", "5"}, {"batch.size", "65536"}};
  const char* env = std::getenv("KENC_PERF_PRODUCER_PROPS");
  if (env == nullptr) return props;
  for (const auto& item : split_list(env)) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw std::invalid_argument("KENC_PERF_PRODUCER_PROPS: expected key=value, got " + item);
    }
    props[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return props;
}

}  // namespace

int main(int argc, char** argv) {
  const long records_1k = argc > 1 ? std::stol(argv[1]) : 100000;
  const int rounds = argc > 2 ? std::stoi(argv[2]) : 3;
  const int workers = argc > 3 ? std::stoi(argv[3]) : 2;
  const bool proxy_own_core = env_is_1("KENC_PERF_PROXY_OWN_CORE");
  const bool client_own_core = env_is_1("KENC_PERF_CLIENT_OWN_CORE");
  const bool produce_only = env_is_1("KENC_PERF_PRODUCE_ONLY");
  const char* delete_topics_env = std::getenv("KENC_PERF_DELETE_TOPICS");
  const bool delete_topics = delete_topics_env == nullptr || std::string(delete_topics_env) != "0";
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (proxy_own_core && client_own_core) {
    std::fprintf(stderr,
                 "proxy_perf: KENC_PERF_PROXY_OWN_CORE and KENC_PERF_CLIENT_OWN_CORE are two "
                 "different layouts; set one\n");
    return 1;
  }
  if ((proxy_own_core || client_own_core) && cores < 2) {
    std::fprintf(stderr, "proxy_perf: a core of its own for the %s needs at least 2 cores\n",
                 proxy_own_core ? "proxy" : "client");
    return 1;
  }
  if (client_own_core) {
    // The servers start from here and inherit it; the tools are moved to core 0 below.
    const cpu_set_t servers = cores_from_to(1, cores - 1);
    if (sched_setaffinity(0, sizeof servers, &servers) != 0) {
      std::perror("proxy_perf: sched_setaffinity");
      return 1;
    }
  }
  if (proxy_own_core) {
    // Set before anything starts: every process launched from here inherits it. The proxies
    // are moved to the last core once they run.
    const cpu_set_t others = cores_from_to(0, cores - 2);
    if (sched_setaffinity(0, sizeof others, &others) != 0) {
      std::perror("proxy_perf: sched_setaffinity");
      return 1;
    }
  }
  try {
    const std::vector<int> sizes = record_sizes();
    const auto props = producer_props();
    EncryptionStack::Options options;
    options.label = "proxy-perf";
    options.kafka.fast_start_jvm = false;
    options.kafka.heap = "1g";
    options.proxy_worker_threads = workers;
    options.topics_yaml = std::string("rules:\n  - prefix: \"enc-\"\n    kek: \"") + kKek +
                          "\"\nunmatched_topic: reject\nunresolved_kek: reject\n";
    const char* encryption_yaml = std::getenv("KENC_PERF_ENCRYPTION_YAML");
    if (encryption_yaml != nullptr) options.extra_encryption_yaml = encryption_yaml;
    EncryptionStack stack(options);
    auto& cluster = stack.kafka();

    // The pass-through proxy: the same gateway, no `encryption:` block.
    ProxyDaemon::Ports ports;
    ports.bootstrap = kenc::testworld::free_port_range(1);
    ports.broker_ports = 1;
    const auto& broker = cluster.brokers().at(0);
    std::ostringstream config;
    config << "worker_threads: " << workers << "\n"
           << "virtual_clusters:\n  - name: passthrough\n"
           << "    upstream:\n      bootstrap_servers: [\"127.0.0.1:" << broker.port << "\"]\n"
           << "    gateway:\n      bootstrap: \"127.0.0.1:" << ports.bootstrap << "\"\n"
           << "      port_per_broker:\n        node_id_min: " << broker.node_id
           << "\n        node_id_max: " << broker.node_id << "\n";
    ProxyDaemon passthrough(stack.dir(), "proxy-passthrough", config.str(), ports);
    if (auto error = passthrough.start(); !error.empty()) throw std::runtime_error(error);

    // The optional baseline: another kenc-proxy binary, pass-through, same gateway layout.
    std::unique_ptr<kenc::testworld::Process> baseline;
    int baseline_port = 0;
    const char* baseline_binary = std::getenv("KENC_PERF_BASELINE_PROXY");
    const bool baseline_encrypts = env_is_1("KENC_PERF_BASELINE_ENCRYPTS");
    if (baseline_binary != nullptr && *baseline_binary != '\0') {
      baseline_port = kenc::testworld::free_port_range(1);
      std::string yaml = baseline_encrypts ? stack.proxy_config(0) : config.str();
      const std::string from =
          (baseline_encrypts ? stack.proxy_bootstrap(0)
                             : "127.0.0.1:" + std::to_string(ports.bootstrap)) +
          "\"";
      yaml.replace(yaml.find(from), from.size(),
                   "127.0.0.1:" + std::to_string(baseline_port) + "\"");
      if (baseline_encrypts) {
        // Its own admin port: the encrypting proxy's is taken.
        const std::string admin = "admin:\n  address: \"127.0.0.1:";
        if (yaml.find(admin) == std::string::npos) {
          throw std::runtime_error("the encrypting proxy's configuration has no admin address");
        }
        const size_t at = yaml.find(admin) + admin.size();
        yaml.replace(at, yaml.find('"', at) - at, std::to_string(kenc::testworld::free_port()));
      }
      const std::string file = stack.dir() + "/proxy-baseline.yaml";
      std::ofstream(file) << yaml;
      kenc::testworld::Process::Options po;
      po.argv = {baseline_binary, "--config", file};
      po.log_file = stack.dir() + "/proxy-baseline.log";
      baseline = std::make_unique<kenc::testworld::Process>(po);
      for (int i = 0; i < 300 && !(kenc::testworld::port_open(baseline_port) &&
                                   kenc::testworld::port_open(baseline_port + 1));
           ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!kenc::testworld::port_open(baseline_port)) {
        throw std::runtime_error("the baseline proxy did not start: " +
                                 kenc::testworld::tail_file(po.log_file));
      }
    }
    const int modes = baseline ? 4 : 3;
    const std::string bootstrap[] = {stack.direct_bootstrap(), passthrough.bootstrap(),
                                     stack.proxy_bootstrap(0),
                                     "127.0.0.1:" + std::to_string(baseline_port)};
    const pid_t pid[] = {0, passthrough.pid(), stack.proxy(0).pid(),
                         baseline ? baseline->pid() : 0};
    const pid_t broker_pid = cluster.broker_pid(0);
    if (proxy_own_core) {
      const cpu_set_t last = cores_from_to(cores - 1, cores - 1);
      for (pid_t p : pid) {
        if (p != 0) pin_process(p, last);
      }
    }
    if (client_own_core) {
      // Every server runs now; the perf tools launched from here on inherit core 0.
      const cpu_set_t first = cores_from_to(0, 0);
      if (sched_setaffinity(0, sizeof first, &first) != 0) {
        throw std::runtime_error(std::string("sched_setaffinity: ") + std::strerror(errno));
      }
    }
    const char* broker_nice = std::getenv("KENC_PERF_BROKER_NICE");
    if (broker_nice != nullptr) renice_process(broker_pid, std::stoi(broker_nice));
    CpuSampler sampler({pid[kPassthrough], pid[kEncrypt], pid[kBaseline], broker_pid});

    std::printf(
        "proxy_perf: %ld records of 1 KiB / %ld of 100 B per run, %d rounds, %d proxy worker "
        "thread(s), %ld cores, load average %.2f at start, TCP congestion control %s\n",
        records_1k, records_1k * 5, rounds, workers, cores, load_average(),
        tcp_congestion_control().c_str());
    if (proxy_own_core) {
      std::printf(
          "layout: the proxies on core %ld alone; the broker, the key broker and the perf tools on "
          "cores 0-%ld (cpu-bound below is then not a ceiling: the cores are not shared)\n",
          cores - 1, cores - 2);
    }
    if (client_own_core) {
      std::printf(
          "layout: the perf tools on core 0 alone; the broker, the key broker and the proxies on "
          "cores 1-%ld (cpu-bound below is then not a ceiling: the cores are not shared)\n",
          cores - 1);
    }

    if (broker_nice != nullptr) std::printf("broker threads at nice %s\n", broker_nice);
    std::printf("producer settings:");
    for (const auto& [key, value] : props) std::printf(" %s=%s", key.c_str(), value.c_str());
    std::printf("%s\n", produce_only ? " (produce runs only)" : "");
    std::printf("each round's topics %s at its end\n", delete_topics ? "deleted" : "kept");
    if (encryption_yaml != nullptr) {
      std::printf("added to the encrypting proxy's encryption block: %s\n", encryption_yaml);
    }

    // [size][mode] -> runs
    std::map<int, std::vector<Run>> produce[4], consume[4];
    std::map<int, std::vector<double>> added_per_record;
    std::vector<double> loads;
    for (int round = 0; round < rounds; ++round) {
      for (int size : sizes) {
        const long records = size == 100 ? records_1k * 5 : records_1k;
        std::string topic[4];
        for (int m = 0; m < modes; ++m) {
          const bool encrypted = m == kEncrypt || (m == kBaseline && baseline_encrypts);
          topic[m] = std::string(encrypted ? "enc-" : "perf-") + kModeNames[m][0] +
                     std::to_string(m) + "-" + std::to_string(size) + "-r" + std::to_string(round);
          cluster.create_topic(topic[m], 3);
        }
        std::printf("round %d, %d-byte records (load %.2f)\n", round + 1, size, load_average());
        loads.push_back(load_average());
        for (int k = 0; k < modes; ++k) {
          const int m = (round + k) % modes;
          kenc::testworld::ProducerPerfOptions po;
          po.topic = topic[m];
          po.num_records = records;
          po.record_size = size;
          po.producer_props = props;
          const ProcStat before = proc_stat_of(pid[m]);
          const ToolSnapshot tool_before = ToolSnapshot::now();
          auto r = kenc::testworld::run_producer_perf(bootstrap[m], po);
          const ToolSnapshot tool_after = ToolSnapshot::now();
          const ProcStat after = proc_stat_of(pid[m]);
          // The tool measures from its first send to its last acknowledgement, just before it
          // exits.
          const auto produce_end = std::chrono::system_clock::now();
          const auto produce_start =
              produce_end -
              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  std::chrono::duration<double>(static_cast<double>(records) / r.records_per_sec));
          Run run{r.records_per_sec,
                  r.p50_ms,
                  r.p95_ms,
                  r.p99_ms,
                  r.p999_ms,
                  r.avg_latency_ms,
                  after.cpu_seconds - before.cpu_seconds};
          const auto cpu = sampler.window(produce_start, produce_end, pid[m], broker_pid);
          run.machine_us_per_record = machine_us_per_record(cpu, r.records_per_sec);
          std::printf(
              "  %-9s produce %9.0f rec/s %7.2f MB/s  latency avg %6.1f p50 %4.0f p95 %4.0f "
              "p99 %4.0f p99.9 %4.0f ms  proxy CPU %.2f s, %.0f minor faults; %s; %.2f us of CPU "
              "per record; %s\n",
              kModeNames[m], r.records_per_sec, r.mb_per_sec, r.avg_latency_ms, r.p50_ms, r.p95_ms,
              r.p99_ms, r.p999_ms, run.cpu_seconds, after.minor_faults - before.minor_faults,
              cpu.describe().c_str(), run.machine_us_per_record,
              describe_tool_run(tool_before, tool_after).c_str());
          produce[m][size].push_back(run);
        }
        settle();
        const LogSize plain = log_size(cluster.log_dirs(), topic[kPassthrough]);
        const LogSize encrypted = log_size(cluster.log_dirs(), topic[kEncrypt]);
        // Record bytes = segment bytes - 61 bytes of batch framing and header per batch.
        const double added = (static_cast<double>(encrypted.bytes - 61 * encrypted.batches) -
                              static_cast<double>(plain.bytes - 61 * plain.batches)) /
                             static_cast<double>(records);
        added_per_record[size].push_back(added);
        std::printf(
            "  on disk: plaintext %llu bytes in %llu batches, encrypted %llu bytes in %llu "
            "batches: "
            "%.1f bytes added per record\n",
            static_cast<unsigned long long>(plain.bytes),
            static_cast<unsigned long long>(plain.batches),
            static_cast<unsigned long long>(encrypted.bytes),
            static_cast<unsigned long long>(encrypted.batches), added);
        for (int k = 0; k < modes && !produce_only; ++k) {
          const int m = (round + k) % modes;
          kenc::testworld::ConsumerPerfOptions co;
          co.topic = topic[m];
          co.messages = records;
          co.consumer_props = {{"auto.offset.reset", "earliest"}};
          co.print_metrics = true;
          const ProcStat before = proc_stat_of(pid[m]);
          const auto ahead_before = m == kEncrypt
                                        ? read_ahead_counts(stack.proxy(0).admin_get("/metrics"))
                                        : std::map<std::string, double>{};
          const ToolSnapshot tool_before = ToolSnapshot::now();
          auto r = kenc::testworld::run_consumer_perf(bootstrap[m], co);
          const ToolSnapshot tool_after = ToolSnapshot::now();
          const ProcStat after = proc_stat_of(pid[m]);
          if (m == kEncrypt) {
            std::printf("  %-9s fetch read-ahead:", kModeNames[m]);
            for (const auto& [outcome, count] :
                 read_ahead_counts(stack.proxy(0).admin_get("/metrics"))) {
              const auto was = ahead_before.find(outcome);
              std::printf(" %s %.0f", outcome.c_str(),
                          count - (was == ahead_before.end() ? 0.0 : was->second));
            }
            std::printf("\n");
          }
          // The fetch window: the fetch time up to the tool's end.time (its exit if unreadable).
          const auto consume_end =
              r.end_epoch_ms > 0
                  ? std::chrono::system_clock::time_point(std::chrono::milliseconds(r.end_epoch_ms))
                  : std::chrono::system_clock::now();
          const auto consume_start = consume_end - std::chrono::milliseconds(r.fetch_ms);
          if (r.messages < records) {
            throw std::runtime_error(std::string(kModeNames[m]) + " consumer read only " +
                                     std::to_string(r.messages) + " records");
          }
          Run run;
          // Over the fetch time: the group join is not data movement.
          run.records_per_sec = r.fetch_messages_per_sec;
          run.cpu_seconds = after.cpu_seconds - before.cpu_seconds;
          const auto cpu = sampler.window(consume_start, consume_end, pid[m], broker_pid);
          run.machine_us_per_record = machine_us_per_record(cpu, r.fetch_messages_per_sec);
          std::printf(
              "  %-9s consume %9.0f rec/s %7.2f MB/s  %.0f fetches of %.0f records, %.1f ms each  "
              "proxy CPU %.2f s, %.0f minor faults; %s; %.2f us of CPU per record; %s\n",
              kModeNames[m], r.fetch_messages_per_sec, r.fetch_mb_per_sec, r.fetch_requests,
              r.records_per_fetch, r.fetch_latency_avg_ms, run.cpu_seconds,
              after.minor_faults - before.minor_faults, cpu.describe().c_str(),
              run.machine_us_per_record, describe_tool_run(tool_before, tool_after).c_str());
          consume[m][size].push_back(run);
        }
        if (delete_topics) {
          for (int m = 0; m < modes; ++m) cluster.delete_topic(topic[m]);
        }
      }
    }

    std::printf(
        "\nsummary: medians over %d rounds; ratio = proxy run / direct run of the same "
        "round; load average during the runs: median %.2f, max %.2f\n",
        rounds, median(loads), *std::max_element(loads.begin(), loads.end()));
    std::printf(
        "cpu-bound = the whole machine's busy CPU time per record of the direct run / that of "
        "this run (same round): the ratio this mode would reach if it kept the cores as busy as "
        "direct did, i.e. the most that less waiting could give it on this machine\n");
    std::printf("%-6s %-9s %-8s %10s %7s %9s %8s %8s %8s %9s %9s\n", "size", "mode", "direction",
                "rec/s", "ratio", "cpu-bound", "p50 ms", "p99 ms", "p99.9", "CPU s/GB", "target");
    for (int size : sizes) {
      const long records = size == 100 ? records_1k * 5 : records_1k;
      const double gb = static_cast<double>(records) * size / 1e9;
      for (int dir = 0; dir < 2; ++dir) {
        auto& table = dir == 0 ? produce : consume;
        for (int m = 0; m < modes; ++m) {
          const auto& runs = table[m][size];
          if (runs.empty()) continue;  // consume runs skipped
          std::vector<double> rate, ratio, cpu_bound, p50, p99, p999, cpu;
          for (size_t i = 0; i < runs.size(); ++i) {
            const Run& direct = table[kDirect][size][i];
            rate.push_back(runs[i].records_per_sec);
            ratio.push_back(runs[i].records_per_sec / direct.records_per_sec);
            if (runs[i].machine_us_per_record > 0 && direct.machine_us_per_record > 0) {
              cpu_bound.push_back(direct.machine_us_per_record / runs[i].machine_us_per_record);
            }
            p50.push_back(runs[i].p50);
            p99.push_back(runs[i].p99);
            p999.push_back(runs[i].p999);
            cpu.push_back(runs[i].cpu_seconds / gb);
          }
          const bool encrypts = m == kEncrypt || (m == kBaseline && baseline_encrypts);
          const char* target = encrypts ? (dir == 0 ? ">= 0.90" : ">= 0.85")
                               : m == kPassthrough || m == kBaseline ? ">= 0.95"
                                                                     : "";
          if (dir == 0) {
            std::printf("%-6d %-9s %-8s %10.0f %7.3f %9.3f %8.0f %8.0f %8.0f %9.2f %9s\n", size,
                        kModeNames[m], "produce", median(rate), median(ratio), median(cpu_bound),
                        median(p50), median(p99), median(p999), median(cpu), target);
          } else {
            std::printf("%-6d %-9s %-8s %10.0f %7.3f %9.3f %8s %8s %8s %9.2f %9s\n", size,
                        kModeNames[m], "consume", median(rate), median(ratio), median(cpu_bound),
                        "-", "-", "-", median(cpu), target);
          }
        }
      }
      std::printf(
          "%-6d bytes added per record by encryption (KEK name of %zu characters): "
          "median %.1f (target <= 100)\n",
          size, std::string(kKek).size(), median(added_per_record[size]));
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "proxy_perf failed: %s\n", e.what());
    return 1;
  }
}
