#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/world/base/process.h"
#include "tests/world/base/run_dir.h"

namespace kenc::testworld {

// A real Apache Kafka cluster in KRaft combined mode (every node is broker and controller),
// on free loopback ports, with its data and logs in a RunDir. Started by the constructor, stopped
// by the destructor. Every failure to start throws std::runtime_error with the reason and the tail
// of the broker's log.
class KafkaCluster {
 public:
  struct Options {
    int brokers = 1;  // 1 or 3
    // Extra `server.properties` lines for every broker.
    std::map<std::string, std::string> broker_config;
    // Adds a SASL_PLAINTEXT listener with the PLAIN mechanism and these users (name -> password).
    std::map<std::string, std::string> sasl_plain_users;
    // Adds an SSL listener with this PEM certificate chain and unencrypted PEM private key.
    std::string tls_cert_chain_pem_file;
    std::string tls_private_key_pem_file;
    // A label for the run folder.
    std::string label = "kafka";
    // C1-only JIT: faster start, lower peak speed. Benchmarks turn it off.
    bool fast_start_jvm = true;
    std::string heap = "512m";
  };

  struct Broker {
    int node_id = 0;
    int port = 0;       // PLAINTEXT
    int sasl_port = 0;  // SASL_PLAINTEXT, when enabled
    int tls_port = 0;   // SSL, when enabled
    int controller_port = 0;
    std::string log_dir;
    std::string log_file;
  };

  explicit KafkaCluster(Options options);
  KafkaCluster() : KafkaCluster(Options{}) {}
  ~KafkaCluster();
  KafkaCluster(const KafkaCluster&) = delete;
  KafkaCluster& operator=(const KafkaCluster&) = delete;

  // "127.0.0.1:p1,127.0.0.1:p2,..." of the PLAINTEXT listeners.
  std::string bootstrap_servers() const;
  std::string sasl_bootstrap_servers() const;
  std::string tls_bootstrap_servers() const;
  const std::vector<Broker>& brokers() const { return brokers_; }
  std::vector<std::string> log_dirs() const;
  const std::string& run_dir() const { return run_dir_.path(); }

  // Creates a topic and waits until every partition has a leader. Throws on failure.
  void create_topic(const std::string& name, int partitions = 1, int replication_factor = 1,
                    const std::map<std::string, std::string>& config = {});
  void delete_topic(const std::string& name);

  // Fault injection: stop (SIGTERM) or kill (SIGKILL) one broker by index, and start it again on
  // the same ports with the same data. start_broker returns once the broker answers a Metadata
  // request on its own port listing every broker (or throws with its log).
  void stop_broker(size_t index);
  void kill_broker(size_t index);
  void start_broker(size_t index, std::chrono::seconds timeout = std::chrono::seconds(90));
  bool broker_running(size_t index) const;
  // The broker's JVM process id (0 while it is stopped), for benchmarks that read its CPU time.
  pid_t broker_pid(size_t index) const;

  // Blocks until the cluster's metadata lists `count` brokers (default: all), or throws.
  void wait_for_brokers(size_t count = 0, std::chrono::seconds timeout = std::chrono::seconds(90));

 private:
  void write_config(const Broker& broker) const;
  void launch_broker(size_t index);  // starts the JVM without waiting
  std::string broker_log_tails() const;

  Options options_;
  RunDir run_dir_;
  std::string cluster_id_;
  std::vector<Broker> brokers_;
  std::vector<std::unique_ptr<Process>> processes_;
};

}  // namespace kenc::testworld
