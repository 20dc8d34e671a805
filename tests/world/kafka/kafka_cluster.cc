#include "tests/world/kafka/kafka_cluster.h"

#include <signal.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <stdexcept>
#include <thread>

#include "tests/world/kafka/kafka_distribution.h"
#include "tests/world/kafka/rdkafka_admin.h"

namespace kenc::testworld {
namespace fs = std::filesystem;

namespace {

// A Kafka cluster id: 16 random bytes in unpadded base64url (22 characters), as Uuid.randomUuid.
std::string random_cluster_id() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device random;
  std::array<uint8_t, 18> bytes{};  // 16 random bytes and two zero bytes to fill the last group
  for (size_t i = 0; i < 16; ++i) bytes[i] = static_cast<uint8_t>(random());
  bytes[0] |= 0x01;  // never the reserved all-zero ids
  // Like Kafka's Uuid.randomUuid, never start with "-": command lines would read it as an option.
  if ((bytes[0] >> 2) == 62) bytes[0] &= 0x7f;
  std::string id;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t group = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) id += kAlphabet[(group >> shift) & 0x3f];
  }
  return id.substr(0, 22);
}

std::string join_servers(const std::vector<KafkaCluster::Broker>& brokers,
                         int KafkaCluster::Broker::*port) {
  std::string out;
  for (const auto& b : brokers) {
    if (!out.empty()) out += ",";
    out += "127.0.0.1:" + std::to_string(b.*port);
  }
  return out;
}

}  // namespace

KafkaCluster::KafkaCluster(Options options)
    : options_(std::move(options)), run_dir_(options_.label) {
  if (options_.brokers < 1) throw std::runtime_error("KafkaCluster needs at least one broker");
  const auto& dist = KafkaDistribution::get();

  for (int i = 0; i < options_.brokers; ++i) {
    Broker b;
    b.node_id = i + 1;
    b.port = free_port();
    b.controller_port = free_port();
    if (!options_.sasl_plain_users.empty()) b.sasl_port = free_port();
    if (!options_.tls_cert_chain_pem_file.empty()) b.tls_port = free_port();
    b.log_dir = run_dir_.file("data-" + std::to_string(b.node_id));
    b.log_file = run_dir_.file("broker-" + std::to_string(b.node_id) + ".log");
    brokers_.push_back(b);
  }

  // The id is made here rather than by `StorageTool random-uuid`: one JVM start less.
  cluster_id_ = random_cluster_id();

  // Each format is a JVM that mostly starts up: run them side by side.
  std::vector<CommandResult> formats(brokers_.size());
  std::vector<std::thread> formatters;
  for (size_t i = 0; i < brokers_.size(); ++i) {
    write_config(brokers_[i]);
    formatters.emplace_back([&dist, &formats, i, this] {
      formats[i] = dist.run_java(
          "kafka.tools.StorageTool",
          {"format", "--cluster-id=" + cluster_id_, "-c", brokers_[i].log_dir + ".properties"});
    });
  }
  for (auto& t : formatters) t.join();
  for (size_t i = 0; i < brokers_.size(); ++i) {
    if (formats[i].exit_code != 0) {
      throw std::runtime_error("StorageTool format failed for node " +
                               std::to_string(brokers_[i].node_id) + ": " + formats[i].output);
    }
  }
  processes_.resize(brokers_.size());
  for (size_t i = 0; i < brokers_.size(); ++i) launch_broker(i);
  wait_for_brokers();
}

KafkaCluster::~KafkaCluster() {
  // Stop all brokers at once: a KRaft quorum that loses its majority one by one makes the last
  // ones wait for controlled shutdown that can no longer happen.
  for (auto& p : processes_) {
    if (p) p->signal(SIGTERM);
  }
  for (auto& p : processes_) {
    if (p) p->stop(std::chrono::seconds(10));
  }
}

void KafkaCluster::write_config(const Broker& b) const {
  std::string voters;
  for (const auto& other : brokers_) {
    if (!voters.empty()) voters += ",";
    voters += std::to_string(other.node_id) + "@127.0.0.1:" + std::to_string(other.controller_port);
  }
  int rf = options_.brokers >= 3 ? 3 : 1;
  int min_isr = options_.brokers >= 3 ? 2 : 1;

  std::string listeners = "PLAINTEXT://127.0.0.1:" + std::to_string(b.port);
  std::string advertised = listeners;
  std::string protocol_map = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT";
  if (b.sasl_port != 0) {
    std::string l = "SASL_PLAINTEXT://127.0.0.1:" + std::to_string(b.sasl_port);
    listeners += "," + l;
    advertised += "," + l;
    protocol_map += ",SASL_PLAINTEXT:SASL_PLAINTEXT";
  }
  if (b.tls_port != 0) {
    std::string l = "SSL://127.0.0.1:" + std::to_string(b.tls_port);
    listeners += "," + l;
    advertised += "," + l;
    protocol_map += ",SSL:SSL";
  }
  listeners += ",CONTROLLER://127.0.0.1:" + std::to_string(b.controller_port);

  std::map<std::string, std::string> props = {
      {"process.roles", "broker,controller"},
      {"node.id", std::to_string(b.node_id)},
      {"controller.quorum.voters", voters},
      {"listeners", listeners},
      {"advertised.listeners", advertised},
      {"controller.listener.names", "CONTROLLER"},
      {"inter.broker.listener.name", "PLAINTEXT"},
      {"listener.security.protocol.map", protocol_map},
      {"log.dirs", b.log_dir},
      {"num.partitions", "1"},
      {"default.replication.factor", std::to_string(rf)},
      {"offsets.topic.replication.factor", std::to_string(rf)},
      {"offsets.topic.num.partitions", "3"},
      {"transaction.state.log.replication.factor", std::to_string(rf)},
      {"transaction.state.log.min.isr", std::to_string(min_isr)},
      {"transaction.state.log.num.partitions", "3"},
      {"share.coordinator.state.topic.replication.factor", std::to_string(rf)},
      {"share.coordinator.state.topic.min.isr", std::to_string(min_isr)},
      {"group.initial.rebalance.delay.ms", "0"},
      {"auto.create.topics.enable", "true"},
      // Small segments so that tests scanning segment files see recent data in readable files.
      {"log.segment.bytes", std::to_string(16 * 1024 * 1024)},
  };
  if (b.sasl_port != 0) {
    std::string jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required";
    for (const auto& [user, password] : options_.sasl_plain_users) {
      jaas += " user_" + user + "=\"" + password + "\"";
    }
    props["sasl.enabled.mechanisms"] = "PLAIN";
    props["listener.name.sasl_plaintext.plain.sasl.jaas.config"] = jaas + ";";
  }
  if (b.tls_port != 0) {
    // Kafka takes PEM key material inline; `\n` escapes keep it on one properties line.
    props["listener.name.ssl.ssl.keystore.type"] = "PEM";
    std::ifstream chain(options_.tls_cert_chain_pem_file);
    std::ifstream key(options_.tls_private_key_pem_file);
    std::string chain_text((std::istreambuf_iterator<char>(chain)), {});
    std::string key_text((std::istreambuf_iterator<char>(key)), {});
    auto one_line = [](std::string s) {
      std::string out;
      for (char c : s) out += (c == '\n') ? std::string("\\n") : std::string(1, c);
      return out;
    };
    props["listener.name.ssl.ssl.keystore.certificate.chain"] = one_line(chain_text);
    props["listener.name.ssl.ssl.keystore.key"] = one_line(key_text);
  }
  for (const auto& [k, v] : options_.broker_config) props[k] = v;

  std::ofstream out(b.log_dir + ".properties");
  for (const auto& [k, v] : props) out << k << "=" << v << "\n";
  if (!out) throw std::runtime_error("cannot write broker config " + b.log_dir + ".properties");
}

void KafkaCluster::launch_broker(size_t index) {
  const auto& b = brokers_.at(index);
  const auto& dist = KafkaDistribution::get();
  Process::Options opts;
  opts.argv = dist.java_command("kafka.Kafka", {b.log_dir + ".properties"}, b.log_file,
                                options_.heap, options_.fast_start_jvm);
  opts.log_file = run_dir_.file("broker-" + std::to_string(b.node_id) + ".stdout");
  processes_[index] = std::make_unique<Process>(std::move(opts));
}

void KafkaCluster::start_broker(size_t index, std::chrono::seconds timeout) {
  if (broker_running(index)) return;
  launch_broker(index);
  // Other brokers may still list it from before it stopped; only its own answer shows it is back.
  const std::string own_address = "127.0.0.1:" + std::to_string(brokers_.at(index).port);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!broker_running(index)) {
      throw std::runtime_error("Kafka broker " + std::to_string(brokers_[index].node_id) +
                               " exited during restart:\n" + broker_log_tails());
    }
    if (count_brokers(own_address, &last_error) >= brokers_.size()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  throw std::runtime_error("Kafka broker " + std::to_string(brokers_[index].node_id) +
                           " not back after " + std::to_string(timeout.count()) + " s (" +
                           last_error + "):\n" + broker_log_tails());
}

bool KafkaCluster::broker_running(size_t index) const {
  return processes_.at(index) && processes_[index]->running();
}

pid_t KafkaCluster::broker_pid(size_t index) const {
  return broker_running(index) ? processes_[index]->pid() : 0;
}

void KafkaCluster::stop_broker(size_t index) {
  if (processes_.at(index)) processes_[index]->stop(std::chrono::seconds(30));
}

void KafkaCluster::kill_broker(size_t index) {
  if (processes_.at(index)) processes_[index]->kill();
}

void KafkaCluster::wait_for_brokers(size_t count, std::chrono::seconds timeout) {
  if (count == 0) count = brokers_.size();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    for (size_t i = 0; i < processes_.size(); ++i) {
      if (processes_[i] && !processes_[i]->running()) {
        throw std::runtime_error("Kafka broker " + std::to_string(brokers_[i].node_id) +
                                 " exited during start-up:\n" + broker_log_tails());
      }
    }
    auto seen = count_brokers(bootstrap_servers(), &last_error);
    if (seen >= count) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  throw std::runtime_error("Kafka cluster not ready after " + std::to_string(timeout.count()) +
                           " s (" + last_error + "):\n" + broker_log_tails());
}

std::string KafkaCluster::broker_log_tails() const {
  std::string out;
  for (const auto& b : brokers_) {
    out += "--- " + b.log_file + " (tail)\n" + tail_file(b.log_file, 3000) + "\n";
    out += "--- stdout (tail)\n" +
           tail_file(run_dir_.file("broker-" + std::to_string(b.node_id) + ".stdout"), 1500) + "\n";
  }
  return out;
}

std::string KafkaCluster::bootstrap_servers() const {
  return join_servers(brokers_, &Broker::port);
}
std::string KafkaCluster::sasl_bootstrap_servers() const {
  return join_servers(brokers_, &Broker::sasl_port);
}
std::string KafkaCluster::tls_bootstrap_servers() const {
  return join_servers(brokers_, &Broker::tls_port);
}

std::vector<std::string> KafkaCluster::log_dirs() const {
  std::vector<std::string> dirs;
  for (const auto& b : brokers_) dirs.push_back(b.log_dir);
  return dirs;
}

void KafkaCluster::create_topic(const std::string& name, int partitions, int replication_factor,
                                const std::map<std::string, std::string>& config) {
  testworld::create_topic(bootstrap_servers(), name, partitions, replication_factor, config);
}

void KafkaCluster::delete_topic(const std::string& name) {
  testworld::delete_topic(bootstrap_servers(), name);
}

}  // namespace kenc::testworld
