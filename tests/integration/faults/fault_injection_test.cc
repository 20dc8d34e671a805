// Fault injection with the real components (issue #8 point 3, and #7's "key broker killed during
// continuous idempotent production"). Each test runs the real Java producer (idempotent,
// acks=all) through the real kenc-proxy with record encryption, breaks one component while
// records flow, repairs it, and then checks through the proxy that every acknowledged record is
// there exactly once, in order per partition, at the offset it was acknowledged at; and that
// none of the plaintext reached the broker's log segments. The figures (records, outage,
// recovery) are printed and appended to <world>/fault-figures.jsonl.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include "tests/integration/faults/fault_support.h"
#include "tests/world/base/process.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kms/openbao_server.h"
#include "tests/world/stack/encryption_stack.h"

namespace kenc::testworld::faults {
namespace {

using namespace std::chrono_literals;

// Short-lived leases and DEKs: the proxy must go back to the key broker every two seconds (and
// the key broker to the KMS for a new DEK every three), so an outage of either is felt by
// production instead of being hidden by a lease that outlives it. The lease size stays large:
// a lease smaller than a producer batch refuses the batch (non-retriable INVALID_RECORD).
constexpr const char* kShortLeases =
    "deks:\n  lease_size: 100000\n  max_dek_age: 3s\n  max_lease_duration: 2s\n";

constexpr auto kOutage = 6s;

std::string topic_for(const std::string& what) { return unique_topic("enc-fault-" + what); }

TEST(Faults, KeyBrokerKilledAndRestartedDuringIdempotentProduction) {
  EncryptionStack::Options options;
  options.label = "fault-keybroker";
  options.keybroker_extra_yaml = kShortLeases;
  EncryptionStack stack(options);
  FaultRun run{"key broker kill -9 and restart", stack.proxy_bootstrap(), stack.proxy_bootstrap(),
               topic_for("kb"), stack.kafka().log_dirs()};
  stack.kafka().create_topic(run.topic, 3, 1);

  run_under_production(run, [&] {
    FaultTimes t;
    t.fault_ms = wall_ms();
    stack.keybroker().kill();
    std::this_thread::sleep_for(kOutage);
    t.restart_ms = wall_ms();
    auto error = stack.keybroker().start();
    EXPECT_EQ(error, "");
    t.restored_ms = wall_ms();
    return t;
  });
  if (HasFailure()) ADD_FAILURE() << stack.logs();
}

TEST(Faults, OneOfThreeBrokersKilledAndRestartedDuringIdempotentProduction) {
  EncryptionStack::Options options;
  options.label = "fault-broker";
  options.kafka.brokers = 3;
  options.keybroker_extra_yaml = kShortLeases;
  EncryptionStack stack(options);
  FaultRun run{"one of three Kafka brokers kill -9 and restart", stack.proxy_bootstrap(),
               stack.proxy_bootstrap(), topic_for("broker"), stack.kafka().log_dirs()};
  stack.kafka().create_topic(run.topic, 3, 3, {{"min.insync.replicas", "2"}});

  run_under_production(run, [&] {
    FaultTimes t;
    t.fault_ms = wall_ms();
    stack.kafka().kill_broker(1);
    std::this_thread::sleep_for(kOutage);
    t.restart_ms = wall_ms();
    stack.kafka().start_broker(1);
    t.restored_ms = wall_ms();
    return t;
  });
  if (HasFailure()) ADD_FAILURE() << stack.logs();
}

// --- two proxies behind HAProxy --------------------------------------------------------------

bool accepts(const std::string& ip, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("not in the proxy config: " + from);
  text.replace(at, from.size(), to);
}

// The load balancer can only hand every client connection to any replica if all replicas
// listen on the same ports and advertise the balancer's address. On one machine the replicas
// take the same ports on their own loopback addresses (127.0.0.2, 127.0.0.3) and HAProxy the
// advertised 127.0.0.1; it forwards each connection to the port it came in on.
class BalancedProxies {
 public:
  BalancedProxies(EncryptionStack& stack, int brokers) : stack_(stack), brokers_(brokers) {
    for (size_t i = 0; i < stack.proxy_count(); ++i) stack.proxy(i).stop();
    port_ = free_port_range(brokers);
    for (size_t i = 0; i < 2; ++i) {
      std::string config = stack.proxy_config(i);
      replace_once(
          config,
          "bootstrap: \"127.0.0.1:" + std::to_string(stack.proxy(i).ports().bootstrap) + "\"",
          "bootstrap: \"" + ip(i) + ":" + std::to_string(port_) + "\"");
      replace_once(config, "port_per_broker:\n",
                   "port_per_broker:\n        advertised_host: \"127.0.0.1\"\n");
      configs_.push_back(stack.dir() + "/lb-proxy-" + std::to_string(i + 1) + ".yaml");
      std::ofstream(configs_.back()) << config;
      proxies_.emplace_back();
      start_proxy(i);
    }
    std::string cfg = stack.dir() + "/haproxy.cfg";
    std::ofstream(cfg) << "global\n  maxconn 4096\n"
                       << "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 10m\n"
                       << "  timeout server 10m\n  retries 3\n  option redispatch\n"
                       << "listen kenc\n  bind 127.0.0.1:" << port_ << "-" << port_ + brokers
                       << "\n  balance roundrobin\n"
                       // No port on the servers: each connection goes to the port it came in on.
                       << "  server proxy1 " << ip(0) << " check port " << port_
                       << " inter 300 fall 1 rise 2\n"
                       << "  server proxy2 " << ip(1) << " check port " << port_
                       << " inter 300 fall 1 rise 2\n";
    Process::Options proc;
    proc.argv = {"/usr/sbin/haproxy", "-f", cfg, "-db"};
    proc.log_file = stack.dir() + "/haproxy.log";
    haproxy_ = std::make_unique<Process>(proc);
    for (int i = 0; i < 200 && !port_open(port_ + brokers); ++i) std::this_thread::sleep_for(50ms);
    if (!port_open(port_))
      throw std::runtime_error("HAProxy did not start: " + tail_file(proc.log_file));
  }
  ~BalancedProxies() {
    haproxy_.reset();
    proxies_.clear();
  }

  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  static std::string ip(size_t i) { return "127.0.0." + std::to_string(i + 2); }

  void start_proxy(size_t i) {
    Process::Options proc;
    proc.argv = {proxy_binary(), "--config", configs_[i]};
    proc.log_file = stack_.dir() + "/lb-proxy-" + std::to_string(i + 1) + ".log";
    proxies_[i] = std::make_unique<Process>(proc);
    for (int n = 0; n < 400 && !accepts(ip(i), port_ + brokers_); ++n)
      std::this_thread::sleep_for(25ms);
    if (!accepts(ip(i), port_)) {
      throw std::runtime_error("proxy " + std::to_string(i + 1) +
                               " did not start: " + tail_file(proc.log_file));
    }
  }
  Process& proxy(size_t i) { return *proxies_[i]; }
  // Established connections from HAProxy to replica i's broker port(s).
  int broker_connections(size_t i) const {
    int count = 0;
    for (int b = 1; b <= brokers_; ++b) {
      auto ss = run_command(
          {"ss", "-tnH", "state", "established", "dst", ip(i) + ":" + std::to_string(port_ + b)});
      for (char c : ss.output) count += c == '\n';
    }
    return count;
  }
  std::string logs() const {
    std::string out;
    for (size_t i = 0; i < 2; ++i) {
      out += "\n--- lb-proxy-" + std::to_string(i + 1) + "\n" +
             tail_file(stack_.dir() + "/lb-proxy-" + std::to_string(i + 1) + ".log");
    }
    return out + "\n--- haproxy\n" + tail_file(stack_.dir() + "/haproxy.log");
  }

 private:
  EncryptionStack& stack_;
  int brokers_;
  int port_ = 0;
  std::vector<std::string> configs_;
  std::vector<std::unique_ptr<Process>> proxies_;
  std::unique_ptr<Process> haproxy_;
};

TEST(Faults, OneOfTwoProxiesBehindHAProxyKilledDuringIdempotentProduction) {
  EncryptionStack::Options options;
  options.label = "fault-proxy";
  options.proxies = 2;
  EncryptionStack stack(options);
  BalancedProxies balanced(stack, static_cast<int>(stack.kafka().brokers().size()));
  FaultRun run{"one of two proxies behind HAProxy kill -9 and restart", balanced.bootstrap(),
               balanced.bootstrap(), topic_for("proxy"), stack.kafka().log_dirs()};
  stack.kafka().create_topic(run.topic, 3, 1);

  run_under_production(run, [&] {
    // Kill the replica that carries the producer's connection to the broker port (the one
    // Produce requests go to); HAProxy put the bootstrap connection on either.
    size_t victim = balanced.broker_connections(1) > balanced.broker_connections(0) ? 1 : 0;
    std::cout << "killing proxy " << victim + 1 << " (" << balanced.broker_connections(victim)
              << " client connections on the broker port; the other has "
              << balanced.broker_connections(1 - victim) << ")" << std::endl;
    EXPECT_GT(balanced.broker_connections(victim), 0);
    FaultTimes t;
    t.fault_ms = wall_ms();
    balanced.proxy(victim).kill();
    std::this_thread::sleep_for(kOutage);
    t.restart_ms = wall_ms();
    balanced.start_proxy(victim);
    t.restored_ms = wall_ms();
    return t;
  });
  if (HasFailure()) ADD_FAILURE() << stack.logs() << balanced.logs();
}

// --- OpenBao --------------------------------------------------------------------------------

// A real restart: an integrated-storage server (not dev mode, whose keys live in memory) is stopped
// with SIGTERM, started again on the same port and unsealed; Transit keys survive.
TEST(Faults, OpenBaoRestartedDuringIdempotentProduction) {
  OpenBaoOptions bao_options;
  bao_options.persistent = true;
  OpenBaoServer openbao(bao_options);
  auto started = openbao.start();
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  EncryptionStack::Options options;
  options.label = "fault-openbao-restart";
  options.kms = EncryptionStack::Kms::kVault;
  options.openbao = &openbao;
  options.keybroker_extra_yaml = kShortLeases;
  EncryptionStack stack(options);
  FaultRun run{"OpenBao (raft storage) stopped, restarted and unsealed", stack.proxy_bootstrap(),
               stack.proxy_bootstrap(), topic_for("baorestart"), stack.kafka().log_dirs()};
  stack.create_kek("KEK_" + run.topic);
  stack.kafka().create_topic(run.topic, 3, 1);

  run_under_production(run, [&] {
    FaultTimes t;
    t.fault_ms = wall_ms();
    openbao.stop();
    std::this_thread::sleep_for(kOutage);
    t.restart_ms = wall_ms();
    auto restarted = openbao.start();  // returns once unsealed and healthy
    EXPECT_TRUE(restarted.ok()) << restarted.error().to_string();
    t.restored_ms = wall_ms();
    return t;
  });
  if (HasFailure()) {
    openbao.keep_logs();
    ADD_FAILURE() << stack.logs();
  }
}

// A hung server (SIGSTOP): the port stays open and calls time out instead of being refused.
TEST(Faults, OpenBaoPausedDuringIdempotentProduction) {
  OpenBaoServer openbao;
  auto started = openbao.start();
  ASSERT_TRUE(started.ok()) << started.error().to_string();
  EncryptionStack::Options options;
  options.label = "fault-openbao";
  options.kms = EncryptionStack::Kms::kVault;
  options.openbao = &openbao;
  options.keybroker_extra_yaml = kShortLeases;
  EncryptionStack stack(options);
  FaultRun run{"OpenBao paused (SIGSTOP) and resumed", stack.proxy_bootstrap(),
               stack.proxy_bootstrap(), topic_for("bao"), stack.kafka().log_dirs()};
  stack.create_kek("KEK_" + run.topic);
  stack.kafka().create_topic(run.topic, 3, 1);

  run_under_production(run, [&] {
    FaultTimes t;
    t.fault_ms = wall_ms();
    openbao.pause();
    std::this_thread::sleep_for(kOutage);
    t.restart_ms = wall_ms();
    openbao.resume();
    t.restored_ms = wall_ms();
    return t;
  });
  if (HasFailure()) ADD_FAILURE() << stack.logs();
}

}  // namespace
}  // namespace kenc::testworld::faults
