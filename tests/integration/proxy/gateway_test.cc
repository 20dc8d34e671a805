// The kenc-proxy daemon, started from a YAML configuration, in front of a real 3-broker Kafka
// cluster. Clients are given only the proxy's bootstrap address: every broker address they learn
// is the proxy's (port-per-broker), and none of them ever connects to a broker directly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/world/base/peer_connections.h"
#include "tests/world/base/process.h"
#include "tests/world/base/run_dir.h"
#include "tests/world/kafka/java_client.h"
#include "tests/world/kafka/kafka_cluster.h"
#include "tests/world/kafka/kafka_environment.h"

namespace kenc::testworld {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class ProxyGateway : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    KafkaCluster::Options options;
    options.brokers = 3;
    options.label = "gateway-kafka";
    cluster_ = new KafkaCluster(options);
    run_dir_ = new RunDir("gateway-proxy");
    bootstrap_port_ = free_port_range(3);
    std::string config = run_dir_->file("proxy.yaml");
    std::ofstream(config) << "worker_threads: 2\n"
                          << "virtual_clusters:\n"
                          << "  - name: demo\n"
                          << "    upstream:\n"
                          << "      bootstrap_servers: [\"127.0.0.1:" << cluster_->brokers()[0].port
                          << "\"]\n"
                          << "    gateway:\n"
                          << "      bootstrap: \"127.0.0.1:" << bootstrap_port_ << "\"\n"
                          << "      port_per_broker:\n"
                          << "        node_id_min: 1\n"
                          << "        node_id_max: 3\n";
    Process::Options proc;
    proc.argv = {KENC_PROXY_BINARY, "--config", config};
    proc.log_file = run_dir_->file("proxy.log");
    proxy_ = new Process(proc);
    for (int i = 0; i < 200 && !port_open(bootstrap_port_ + 3); ++i)
      std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(port_open(bootstrap_port_)) << tail_file(proc.log_file);
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete run_dir_;
    delete cluster_;
  }
  static std::string bootstrap() { return "127.0.0.1:" + std::to_string(bootstrap_port_); }

  static KafkaCluster* cluster_;
  static RunDir* run_dir_;
  static Process* proxy_;
  static int bootstrap_port_;
};

KafkaCluster* ProxyGateway::cluster_ = nullptr;
RunDir* ProxyGateway::run_dir_ = nullptr;
Process* ProxyGateway::proxy_ = nullptr;
int ProxyGateway::bootstrap_port_ = 0;

std::vector<TestRecord> make_records(int n, const std::string& tag) {
  std::vector<TestRecord> records;
  for (int i = 0; i < n; ++i) {
    TestRecord r;
    r.key = tag + "-key-" + std::to_string(i);
    r.value = tag + "-value-" + std::to_string(i) + std::string(200, 'v');
    records.push_back(r);
  }
  return records;
}

TEST_F(ProxyGateway, ABrokerPortWorksBeforeAnyMetadataPassedThrough) {
  // Runs first: a fresh proxy knows no broker address yet; a client that goes straight to a
  // per-broker port (as after a proxy restart behind a load balancer) is served through on-demand
  // discovery.
  auto md = run_kcat({"-b", "127.0.0.1:" + std::to_string(bootstrap_port_ + 2), "-L", "-J"});
  ASSERT_EQ(md.exit_code, 0) << md.output;
  auto json = nlohmann::json::parse(md.output);
  EXPECT_EQ(json["brokers"].size(), 3u);
}

TEST_F(ProxyGateway, ClusterMetadataNamesOnlyTheProxy) {
  auto md = JavaClient::admin(bootstrap(), {"describe-cluster"});
  ASSERT_EQ(md["nodes"].size(), 3u) << md.dump();
  std::set<int> ports;
  for (const auto& node : md["nodes"]) {
    EXPECT_EQ(node["host"].get<std::string>(), "127.0.0.1");
    int id = node["id"].get<int>();
    EXPECT_EQ(node["port"].get<int>(), bootstrap_port_ + 1 + (id - 1)) << md.dump();
    ports.insert(node["port"].get<int>());
  }
  for (const auto& broker : cluster_->brokers()) {
    EXPECT_EQ(ports.count(broker.port), 0u) << "a real broker port leaked: " << broker.port;
  }
}

TEST_F(ProxyGateway, ClientsGivenOnlyTheProxyNeverConnectToABroker) {
  const std::string topic = unique_topic("gw");
  cluster_->create_topic(topic, 3, 3);
  auto sent = make_records(3000, "gw");

  std::atomic<bool> done{false};
  std::set<std::string> foreign;
  size_t proxy_connections = 0;
  std::thread sampler([&] {
    while (!done) {
      for (const auto& broker : cluster_->brokers()) {
        for (const auto& [pid, line] : connections_to_port(broker.port)) {
          if (pid == proxy_->pid()) {
            ++proxy_connections;
            continue;
          }
          std::string cmd = read_proc_file(pid, "cmdline");
          if (cmd.find("kafka.Kafka ") == std::string::npos) {  // brokers talk to each other
            foreign.insert("pid " + std::to_string(pid) + ": " + cmd.substr(0, 200));
          }
        }
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  struct StopSampler {  // joins the sampler even when a client call throws
    std::atomic<bool>& done;
    std::thread& thread;
    ~StopSampler() {
      done = true;
      if (thread.joinable()) thread.join();
    }
  } stop_sampler{done, sampler};
  auto acked = JavaClient::produce(bootstrap(), topic, sent,
                                   {{"acks", "all"}, {"enable.idempotence", "true"}});
  auto received = JavaClient::consume(bootstrap(), topic, sent.size(),
                                      {{"group.protocol", "consumer"}}, "group-" + topic);
  auto kcat = run_kcat({"-b", bootstrap(), "-C", "-t", topic, "-o", "beginning", "-c",
                        std::to_string(sent.size()), "-e", "-q"});
  done = true;
  sampler.join();

  ASSERT_EQ(acked.size(), sent.size());
  std::set<int> partitions;
  for (const auto& a : acked) partitions.insert(a.partition);
  EXPECT_EQ(partitions.size(), 3u) << "records should reach all three partition leaders";
  ASSERT_EQ(received.size(), sent.size());
  std::set<std::string> keys;
  for (const auto& r : received) keys.insert(*r.key + "=" + *r.value);
  for (const auto& s : sent) EXPECT_EQ(keys.count(*s.key + "=" + *s.value), 1u);
  EXPECT_EQ(kcat.exit_code, 0) << kcat.output;
  EXPECT_EQ(lines_of(kcat.output).size(), sent.size());
  EXPECT_GT(proxy_connections, 0u) << "the sampler never saw the proxy's own connections";
  EXPECT_TRUE(foreign.empty()) << "a client connected to a broker directly: " << *foreign.begin();
}

TEST(ProxyConfigCheck, RejectsAGatewayWithoutPortPerBroker) {
  RunDir dir("gateway-check");
  std::ofstream(dir.file("bad.yaml")) << "virtual_clusters:\n  - name: x\n    upstream:\n"
                                         "      bootstrap_servers: [\"127.0.0.1:9092\"]\n"
                                         "    gateway:\n      bootstrap: \"127.0.0.1:19092\"\n";
  auto result =
      run_command({KENC_PROXY_BINARY, "--check-config", "--config", dir.file("bad.yaml")});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("virtual_clusters[0].gateway"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace kenc::testworld
