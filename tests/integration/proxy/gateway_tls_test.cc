// The kenc-proxy daemon in front of a real 3-broker Kafka cluster, for the gateway features
// around TLS and node ids:
//  * SNI routing: one TLS port; the Java client reaches the bootstrap as bootstrap.kafka.test and
//    broker N as broker-N.kafka.test (names mapped to 127.0.0.1 by a JDK hosts file, no DNS),
//    and never connects to a broker directly;
//  * client-certificate authentication (gateway.tls.client_ca_file): kcat with a certificate
//    from that CA works, without one or with one from another CA the handshake fails;
//  * a broker beyond the port_per_broker node-id range: left out of what clients see, reported
//    (log naming the setting, metric), and clients keep working with the brokers in range.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
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
#include "tests/world/keybroker/test_pki.h"

namespace kenc::testworld {
namespace {

using namespace std::chrono_literals;
using kenc::keybroker::testing::CertSpec;
using kenc::keybroker::testing::TestCa;

constexpr const char* kDomain = "kafka.test";

std::vector<TestRecord> make_records(int n, const std::string& tag) {
  std::vector<TestRecord> records;
  for (int i = 0; i < n; ++i) {
    TestRecord r;
    r.key = tag + "-key-" + std::to_string(i);
    r.value = tag + "-value-" + std::to_string(i);
    records.push_back(r);
  }
  return records;
}

// Runs the Java clients of a scope with a JDK hosts file (JAVA_TOOL_OPTIONS is read by every
// JVM the scope starts; the brokers are already running).
class JavaHostsFile {
 public:
  explicit JavaHostsFile(const std::string& path) {
    ::setenv("JAVA_TOOL_OPTIONS", ("-Djdk.net.hosts.file=" + path).c_str(), 1);
  }
  ~JavaHostsFile() { ::unsetenv("JAVA_TOOL_OPTIONS"); }
};

// Counts connections to the brokers from processes other than the proxy and the brokers.
class DirectConnectionSampler {
 public:
  DirectConnectionSampler(const KafkaCluster& cluster, pid_t proxy_pid)
      : thread_([this, &cluster, proxy_pid] {
          while (!done_) {
            for (const auto& broker : cluster.brokers()) {
              for (const auto& [pid, line] : connections_to_port(broker.port)) {
                if (pid == proxy_pid) {
                  ++proxy_connections_;
                  continue;
                }
                std::string cmd = read_proc_file(pid, "cmdline");
                if (cmd.find("kafka.Kafka ") == std::string::npos) {
                  std::lock_guard lock(mutex_);
                  foreign_.insert("pid " + std::to_string(pid) + ": " + cmd.substr(0, 200));
                }
              }
            }
            std::this_thread::sleep_for(50ms);
          }
        }) {}
  ~DirectConnectionSampler() { stop(); }
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  size_t proxy_connections() const { return proxy_connections_; }
  std::set<std::string> foreign() {
    std::lock_guard lock(mutex_);
    return foreign_;
  }

 private:
  std::atomic<bool> done_{false};
  std::atomic<size_t> proxy_connections_{0};
  std::mutex mutex_;
  std::set<std::string> foreign_;
  std::thread thread_;
};

class GatewayTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    KafkaCluster::Options options;
    options.brokers = 3;
    options.label = "gateway-tls-kafka";
    cluster_ = new KafkaCluster(options);
    dir_ = new RunDir("gateway-tls-proxy");
    const std::filesystem::path d = dir_->path();

    TestCa ca("kenc gateway test CA");
    CertSpec server;
    server.common_name = std::string("bootstrap.") + kDomain;
    server.subject_alt_names = std::string("DNS:*.") + kDomain + ",DNS:localhost,IP:127.0.0.1";
    auto [server_cert, server_key] = ca.issue(server).write(d, "proxy");
    CertSpec client;
    client.common_name = "kafka-client";
    client.subject_alt_names = "DNS:kafka-client";
    auto [client_cert, client_key] = ca.issue(client).write(d, "client");
    TestCa rogue("some other CA");
    auto [rogue_cert, rogue_key] = rogue.issue(client).write(d, "rogue-client");
    ca_file_ = (d / "ca.pem").string();
    std::ofstream(ca_file_) << ca.cert_pem();
    client_cert_ = client_cert;
    client_key_ = client_key;
    rogue_cert_ = rogue_cert;
    rogue_key_ = rogue_key;

    hosts_file_ = (d / "hosts").string();
    std::ofstream(hosts_file_) << "127.0.0.1 localhost bootstrap." << kDomain << " broker-1."
                               << kDomain << " broker-2." << kDomain << " broker-3." << kDomain
                               << "\n";

    sni_port_ = free_port();
    mtls_port_ = free_port_range(3);
    narrow_port_ = free_port_range(2);
    admin_port_ = free_port();
    const std::string upstream = "127.0.0.1:" + std::to_string(cluster_->brokers()[0].port);
    std::string config = dir_->file("proxy.yaml");
    std::ofstream(config) << "worker_threads: 2\n"
                          << "admin: {address: \"127.0.0.1:" << admin_port_ << "\"}\n"
                          << "virtual_clusters:\n"
                          << "  - name: sni\n"
                          << "    upstream: {bootstrap_servers: [\"" << upstream << "\"]}\n"
                          << "    gateway:\n"
                          << "      bootstrap: \"127.0.0.1:" << sni_port_ << "\"\n"
                          << "      sni: {domain: " << kDomain << "}\n"
                          << "      tls: {cert_file: " << server_cert
                          << ", key_file: " << server_key << "}\n"
                          << "  - name: mtls\n"
                          << "    upstream: {bootstrap_servers: [\"" << upstream << "\"]}\n"
                          << "    gateway:\n"
                          << "      bootstrap: \"127.0.0.1:" << mtls_port_ << "\"\n"
                          << "      port_per_broker: {node_id_min: 1, node_id_max: 3}\n"
                          << "      tls: {cert_file: " << server_cert
                          << ", key_file: " << server_key << ", client_ca_file: " << ca_file_
                          << "}\n"
                          << "  - name: narrow\n"
                          << "    upstream: {bootstrap_servers: [\"" << upstream << "\"]}\n"
                          << "    gateway:\n"
                          << "      bootstrap: \"127.0.0.1:" << narrow_port_ << "\"\n"
                          << "      port_per_broker: {node_id_min: 1, node_id_max: 2}\n";
    Process::Options proc;
    proc.argv = {KENC_PROXY_BINARY, "--config", config};
    proc.log_file = dir_->file("proxy.log");
    log_file_ = proc.log_file;
    proxy_ = new Process(proc);
    for (int i = 0; i < 200 && !port_open(admin_port_); ++i) std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(port_open(sni_port_)) << tail_file(proc.log_file);
    ASSERT_TRUE(port_open(narrow_port_ + 2)) << tail_file(proc.log_file);
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete dir_;
    delete cluster_;
  }

  static std::vector<std::string> kcat_tls(const std::string& cert, const std::string& key) {
    std::vector<std::string> args = {"-b", "127.0.0.1:" + std::to_string(mtls_port_),
                                     "-X", "security.protocol=ssl",
                                     "-X", "ssl.ca.location=" + ca_file_};
    if (!cert.empty()) {
      args.insert(args.end(),
                  {"-X", "ssl.certificate.location=" + cert, "-X", "ssl.key.location=" + key});
    }
    return args;
  }

  static KafkaCluster* cluster_;
  static RunDir* dir_;
  static Process* proxy_;
  static std::string ca_file_, client_cert_, client_key_, rogue_cert_, rogue_key_, hosts_file_,
      log_file_;
  static int sni_port_, mtls_port_, narrow_port_, admin_port_;
};

KafkaCluster* GatewayTls::cluster_ = nullptr;
RunDir* GatewayTls::dir_ = nullptr;
Process* GatewayTls::proxy_ = nullptr;
std::string GatewayTls::ca_file_, GatewayTls::client_cert_, GatewayTls::client_key_,
    GatewayTls::rogue_cert_, GatewayTls::rogue_key_, GatewayTls::hosts_file_, GatewayTls::log_file_;
int GatewayTls::sni_port_ = 0, GatewayTls::mtls_port_ = 0, GatewayTls::narrow_port_ = 0,
    GatewayTls::admin_port_ = 0;

TEST_F(GatewayTls, SniRoutingServesJavaClientsThroughOneTlsPort) {
  const std::string topic = unique_topic("sni");
  cluster_->create_topic(topic, 3, 3);
  const std::string bootstrap =
      std::string("bootstrap.") + kDomain + ":" + std::to_string(sni_port_);
  const Properties tls = {{"security.protocol", "SSL"},
                          {"ssl.truststore.type", "PEM"},
                          {"ssl.truststore.location", ca_file_}};
  auto sent = make_records(600, "sni");

  JavaHostsFile hosts(hosts_file_);
  DirectConnectionSampler sampler(*cluster_, proxy_->pid());
  auto described = JavaClient::admin(bootstrap, {"describe-cluster"}, tls);
  Properties produce_props = tls;
  produce_props["acks"] = "all";
  produce_props["enable.idempotence"] = "true";
  auto acked = JavaClient::produce(bootstrap, topic, sent, produce_props);
  Properties consume_props = tls;
  consume_props["group.protocol"] = "consumer";
  auto received = JavaClient::consume(bootstrap, topic, sent.size(), consume_props, "g-" + topic);
  sampler.stop();

  ASSERT_EQ(described["nodes"].size(), 3u) << described.dump();
  for (const auto& node : described["nodes"]) {
    const int id = node["id"].get<int>();
    EXPECT_EQ(node["host"].get<std::string>(), "broker-" + std::to_string(id) + "." + kDomain);
    EXPECT_EQ(node["port"].get<int>(), sni_port_) << "every broker on the one TLS port";
  }
  ASSERT_EQ(acked.size(), sent.size());
  std::set<int> partitions;
  for (const auto& a : acked) partitions.insert(a.partition);
  EXPECT_EQ(partitions.size(), 3u) << "records reached all three partition leaders";
  ASSERT_EQ(received.size(), sent.size());
  std::set<std::string> got;
  for (const auto& r : received) got.insert(*r.key + "=" + *r.value);
  for (const auto& s : sent) EXPECT_EQ(got.count(*s.key + "=" + *s.value), 1u);
  EXPECT_GT(sampler.proxy_connections(), 0u);
  auto foreign = sampler.foreign();
  EXPECT_TRUE(foreign.empty()) << "a client connected to a broker directly: " << *foreign.begin();
}

TEST_F(GatewayTls, ClientCertificateFromTheConfiguredCaIsRequired) {
  const std::string topic = unique_topic("mtls");
  cluster_->create_topic(topic, 3, 3);
  // With a certificate from the configured CA: produce and consume through the proxy.
  auto produce = kcat_tls(client_cert_, client_key_);
  produce.insert(produce.end(), {"-t", topic, "-P"});
  auto produced = run_kcat(produce, "m1\nm2\nm3\n");
  ASSERT_EQ(produced.exit_code, 0) << produced.output;
  auto consume = kcat_tls(client_cert_, client_key_);
  consume.insert(consume.end(), {"-C", "-t", topic, "-o", "beginning", "-c", "3", "-e", "-q"});
  auto consumed = run_kcat(consume);
  ASSERT_EQ(consumed.exit_code, 0) << consumed.output;
  std::multiset<std::string> lines;
  std::istringstream in(consumed.output);
  for (std::string line; std::getline(in, line);) lines.insert(line);
  EXPECT_EQ(lines, (std::multiset<std::string>{"m1", "m2", "m3"})) << consumed.output;

  // Without a certificate, and with one from another CA: the handshake fails, no metadata.
  for (const auto& [cert, key] :
       {std::pair{std::string(), std::string()}, std::pair{rogue_cert_, rogue_key_}}) {
    auto args = kcat_tls(cert, key);
    args.insert(args.end(), {"-L", "-m", "5"});
    auto listed = run_kcat(args);
    EXPECT_NE(listed.exit_code, 0)
        << (cert.empty() ? "no certificate" : "rogue CA") << ": " << listed.output;
    EXPECT_EQ(listed.output.find("3 brokers"), std::string::npos) << listed.output;
    EXPECT_NE(listed.output.find("SSL"), std::string::npos)
        << "librdkafka reports a TLS failure: " << listed.output;
  }
}

TEST_F(GatewayTls, ABrokerBeyondTheNodeIdRangeIsLeftOutAndReported) {
  const std::string topic = unique_topic("narrow");
  cluster_->create_topic(topic, 3, 1);
  const std::string bootstrap = "127.0.0.1:" + std::to_string(narrow_port_);

  auto listed = run_kcat({"-b", bootstrap, "-L", "-J"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  auto json = nlohmann::json::parse(listed.output);
  std::set<int> ids;
  for (const auto& b : json["brokers"]) {
    ids.insert(b["id"].get<int>());
    const std::string name = b["name"].get<std::string>();
    for (const auto& broker : cluster_->brokers()) {
      EXPECT_EQ(name.find(":" + std::to_string(broker.port)), std::string::npos)
          << "a real broker address leaked: " << name;
    }
  }
  EXPECT_EQ(ids, (std::set<int>{1, 2}));

  // Leaders as the cluster sees them (directly).
  auto direct = nlohmann::json::parse(
      run_kcat({"-b", cluster_->bootstrap_servers(), "-L", "-J", "-t", topic}).output);
  std::map<int, int> leader_of;
  for (const auto& p : direct["topics"][0]["partitions"]) {
    leader_of[p["partition"].get<int>()] = p["leader"].get<int>();
  }
  ASSERT_EQ(leader_of.size(), 3u);

  // The Java producer keeps working: its records go to the partitions it can reach.
  auto sent = make_records(200, "narrow");
  for (auto& r : sent) r.key.reset();  // unkeyed: any available partition will do
  auto acked = JavaClient::produce(bootstrap, topic, sent, {{"acks", "all"}});
  ASSERT_EQ(acked.size(), sent.size());
  for (const auto& a : acked) EXPECT_NE(leader_of.at(a.partition), 3);
  auto received = JavaClient::consume(bootstrap, topic, sent.size());
  EXPECT_EQ(received.size(), sent.size());

  const std::string log = tail_file(log_file_, 200000);
  EXPECT_NE(log.find("broker node id 3 is outside the gateway's node-id range 1..2"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("virtual_clusters[2].gateway.port_per_broker.node_id_max"), std::string::npos)
      << log;
  auto metrics =
      run_command({"curl", "-s", "http://127.0.0.1:" + std::to_string(admin_port_) + "/metrics"});
  ASSERT_EQ(metrics.exit_code, 0) << metrics.output;
  EXPECT_NE(metrics.output.find("kenc_proxy_gateway_unadvertised_broker_responses_total{"
                                "virtual_cluster=\"narrow\",node_id=\"3\"}"),
            std::string::npos)
      << metrics.output;
}

TEST(GatewayConfigCheck, SniRoutingWithoutTlsIsAConfigurationError) {
  RunDir dir("gateway-sni-check");
  std::ofstream(dir.file("sni.yaml")) << "virtual_clusters:\n  - name: x\n    upstream:\n"
                                         "      bootstrap_servers: [\"127.0.0.1:9092\"]\n"
                                         "    gateway:\n      bootstrap: \"127.0.0.1:19093\"\n"
                                         "      sni: {domain: kafka.test}\n";
  auto result =
      run_command({KENC_PROXY_BINARY, "--check-config", "--config", dir.file("sni.yaml")});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("virtual_clusters[0].gateway.tls"), std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace kenc::testworld
