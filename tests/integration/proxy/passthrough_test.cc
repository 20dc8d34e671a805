// The proxy in front of a REAL Kafka broker, driven by real clients (kcat/librdkafka and the
// Java producer, consumer and admin client) that know only the proxy's address.
//
// Until the address-rewriting filter lands, the broker itself advertises the proxy's address
// (advertised.listeners), so every connection a client opens after bootstrap also goes through
// the proxy; the NoClientConnectsToTheBrokerDirectly test checks that at the socket level.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "proxy/server/proxy_server.h"
#include "tests/world/base/peer_connections.h"
#include "tests/world/kafka/java_client.h"
#include "tests/world/kafka/kafka_cluster.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/keybroker/test_pki.h"

namespace kenc::proxy {
namespace {

using kenc::testworld::JavaClient;
using kenc::testworld::KafkaCluster;
using kenc::testworld::TestRecord;
using kenc::testworld::unique_topic;
using namespace std::chrono_literals;

// Holds a loopback port bound (not listening) so nothing else takes it until the proxy does.
class ReservedPort {
 public:
  ReservedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot reserve a loopback port");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~ReservedPort() { release(); }
  uint16_t port() const { return port_; }
  void release() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// One broker advertising the proxy's address, and the proxy in front of it.
class ProxiedKafka : public ::testing::Environment {
 public:
  void SetUp() override {
    tls_dir_ =
        std::filesystem::temp_directory_path() / ("kenc-proxy-it-" + std::to_string(::getpid()));
    std::filesystem::create_directories(tls_dir_);
    kenc::keybroker::testing::TestCa ca("kenc proxy test CA");
    kenc::keybroker::testing::CertSpec spec_leaf;
    spec_leaf.common_name = "localhost";
    spec_leaf.subject_alt_names = "DNS:localhost,IP:127.0.0.1";
    auto [broker_cert, broker_key] = ca.issue(spec_leaf).write(tls_dir_, "broker");
    auto [proxy_cert, proxy_key] = ca.issue(spec_leaf).write(tls_dir_, "proxy");
    ca_file_ = (tls_dir_ / "ca.pem").string();
    std::ofstream(ca_file_) << ca.cert_pem();

    ReservedPort plain_port;
    ReservedPort tls_port;
    ReservedPort sasl_port;
    KafkaCluster::Options options;
    options.label = "kafka-proxied";
    options.tls_cert_chain_pem_file = broker_cert;
    options.tls_private_key_pem_file = broker_key;
    options.sasl_plain_users = {{"alice", "alice-secret"}};
    // Each broker listener advertises the proxy port that fronts it.
    options.broker_config["advertised.listeners"] =
        "PLAINTEXT://127.0.0.1:" + std::to_string(plain_port.port()) +
        ",SSL://localhost:" + std::to_string(tls_port.port()) +
        ",SASL_PLAINTEXT://127.0.0.1:" + std::to_string(sasl_port.port());
    // The cluster waits for its broker through its own port; nothing uses the proxy ports yet.
    cluster_ = std::make_unique<KafkaCluster>(options);
    const auto& broker = cluster_->brokers()[0];

    // TLS where clients connect (termination) and TLS to the broker (trust + host name check).
    auto client_side = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(client_side->native_handle(), TLS1_2_VERSION);
    client_side->use_certificate_chain_file(proxy_cert);
    client_side->use_private_key_file(proxy_key, asio::ssl::context::pem);
    auto broker_side = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(broker_side->native_handle(), TLS1_2_VERSION);
    broker_side->load_verify_file(ca_file_);

    ProxyServerOptions proxy_options;
    proxy_options.worker_threads = 2;
    VirtualClusterSpec plain;
    plain.name = "it";
    plain.listen = HostPort{"127.0.0.1", plain_port.port()};
    plain.upstream_servers = {HostPort{"127.0.0.1", static_cast<uint16_t>(broker.port)}};
    VirtualClusterSpec tls = plain;
    tls.name = "it-tls";
    tls.listen.port = tls_port.port();
    tls.upstream_servers = {HostPort{"localhost", static_cast<uint16_t>(broker.tls_port)}};
    tls.client_tls = client_side;
    tls.upstream_tls = broker_side;
    VirtualClusterSpec sasl = plain;
    sasl.name = "it-sasl";
    sasl.listen.port = sasl_port.port();
    sasl.upstream_servers = {HostPort{"127.0.0.1", static_cast<uint16_t>(broker.sasl_port)}};
    proxy_options.clusters = {plain, tls, sasl};
    proxy_options.admin = admin::AdminServerOptions{};
    proxy_options.drain_timeout = 2s;
    plain_port.release();
    tls_port.release();
    sasl_port.release();
    proxy_ = std::make_unique<ProxyServer>(proxy_options);
    auto status = proxy_->start();
    if (!status.ok()) {
      throw std::runtime_error("proxy did not start: " + status.error().to_string());
    }
    instance_ = this;
  }
  void TearDown() override {
    instance_ = nullptr;
    proxy_.reset();
    cluster_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(tls_dir_, ignored);
  }

  static KafkaCluster& cluster() { return *instance_->cluster_; }
  static ProxyServer& proxy() { return *instance_->proxy_; }
  static std::string bootstrap() { return "127.0.0.1:" + std::to_string(proxy().port(0)); }
  static std::string tls_bootstrap() { return "localhost:" + std::to_string(proxy().port(1)); }
  static std::string sasl_bootstrap() { return "127.0.0.1:" + std::to_string(proxy().port(2)); }
  static const std::string& ca_file() { return instance_->ca_file_; }
  static int broker_port() { return cluster().brokers()[0].port; }

 private:
  static inline ProxiedKafka* instance_ = nullptr;
  std::filesystem::path tls_dir_;
  std::string ca_file_;
  std::unique_ptr<KafkaCluster> cluster_;
  std::unique_ptr<ProxyServer> proxy_;
};

std::vector<TestRecord> make_records(int n, size_t value_bytes, const std::string& tag) {
  std::vector<TestRecord> out;
  for (int i = 0; i < n; ++i) {
    TestRecord r;
    r.key = tag + "-key-" + std::to_string(i);
    std::string value = tag + "-value-" + std::to_string(i) + "-";
    while (value.size() < value_bytes) {
      value += static_cast<char>('a' + (value.size() * 7 + static_cast<size_t>(i)) % 26);
    }
    r.value = value;
    r.headers = {{"h", std::string("hv-") + std::to_string(i)}};
    out.push_back(r);
  }
  return out;
}

// Every sent record arrived exactly once with the same key, value and headers.
void expect_same_records(const std::vector<TestRecord>& sent,
                         const std::vector<TestRecord>& received) {
  ASSERT_EQ(received.size(), sent.size());
  std::map<std::string, const TestRecord*> by_key;
  for (const auto& r : received) {
    ASSERT_TRUE(r.key.has_value());
    ASSERT_TRUE(by_key.emplace(*r.key, &r).second) << "duplicate " << *r.key;
  }
  for (const auto& s : sent) {
    auto it = by_key.find(*s.key);
    ASSERT_NE(it, by_key.end()) << "missing " << *s.key;
    EXPECT_TRUE(it->second->same_content(s)) << "record " << *s.key << " differs";
  }
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

TEST(ProxyPassthrough, KcatProducesAndConsumesThroughTheProxy) {
  const std::string topic = unique_topic();
  ProxiedKafka::cluster().create_topic(topic, 3);
  std::string input;
  for (int i = 0; i < 500; ++i) {
    input += "kcat-message-" + std::to_string(i) + "\n";
  }
  auto produced = kenc::testworld::run_kcat(
      {"-b", ProxiedKafka::bootstrap(), "-P", "-t", topic, "-X", "enable.idempotence=true"}, input);
  ASSERT_EQ(produced.exit_code, 0) << produced.output;
  auto consumed =
      kenc::testworld::run_kcat({"-b", ProxiedKafka::bootstrap(), "-C", "-t", topic, "-o",
                                 "beginning", "-c", "500", "-e", "-q", "-f", "%s\\n"});
  ASSERT_EQ(consumed.exit_code, 0) << consumed.output;
  auto lines = split_lines(consumed.output);
  std::set<std::string> got(lines.begin(), lines.end());
  ASSERT_EQ(got.size(), 500u) << consumed.output.substr(0, 2000);
  for (int i = 0; i < 500; ++i) {
    EXPECT_TRUE(got.count("kcat-message-" + std::to_string(i))) << i;
  }
}

TEST(ProxyPassthrough, LibrdkafkaAcksZeroProduceKeepsTheConnectionInStep) {
  // acks=0 Produce requests get no response; if the proxy expected one, the responses of the
  // following requests would be mismatched and the connection closed.
  const std::string topic = unique_topic();
  ProxiedKafka::cluster().create_topic(topic, 1);
  std::string input;
  for (int i = 0; i < 300; ++i) {
    input += "acks0-" + std::to_string(i) + "\n";
  }
  auto produced =
      kenc::testworld::run_kcat({"-b", ProxiedKafka::bootstrap(), "-P", "-t", topic, "-X", "acks=0",
                                 "-X", "linger.ms=0", "-X", "batch.num.messages=10"},
                                input);
  ASSERT_EQ(produced.exit_code, 0) << produced.output;
  auto consumed =
      kenc::testworld::run_kcat({"-b", ProxiedKafka::bootstrap(), "-C", "-t", topic, "-o",
                                 "beginning", "-c", "300", "-e", "-q", "-f", "%s\\n"});
  ASSERT_EQ(consumed.exit_code, 0) << consumed.output;
  EXPECT_EQ(split_lines(consumed.output).size(), 300u);
}

TEST(ProxyPassthrough, JavaIdempotentProducerWithEveryCompressionCodec) {
  for (const std::string codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    SCOPED_TRACE(codec);
    const std::string topic = unique_topic(codec);
    ProxiedKafka::cluster().create_topic(topic, 2);
    auto sent = make_records(300, 1024, codec);
    auto acked = JavaClient::produce(ProxiedKafka::bootstrap(), topic, sent,
                                     {{"acks", "all"},
                                      {"enable.idempotence", "true"},
                                      {"compression.type", codec},
                                      {"linger.ms", "5"}});
    ASSERT_EQ(acked.size(), sent.size());
    auto received = JavaClient::consume(ProxiedKafka::bootstrap(), topic, sent.size());
    expect_same_records(sent, received);
  }
}

TEST(ProxyPassthrough, ConsumerGroupsWithTheClassicAndTheNewProtocol) {
  for (const std::string protocol : {"classic", "consumer"}) {
    SCOPED_TRACE(protocol);
    const std::string topic = unique_topic(protocol);
    ProxiedKafka::cluster().create_topic(topic, 3);
    auto sent = make_records(200, 100, protocol);
    JavaClient::produce(ProxiedKafka::bootstrap(), topic, sent, {{"acks", "all"}});
    auto received = JavaClient::consume(
        ProxiedKafka::bootstrap(), topic, sent.size(),
        {{"group.protocol", protocol}, {"auto.offset.reset", "earliest"}}, "group-" + topic);
    expect_same_records(sent, received);
  }
}

TEST(ProxyPassthrough, JavaAdminClientManagesTopicsAndDescribesTheCluster) {
  const std::string bootstrap = ProxiedKafka::bootstrap();
  const std::string topic = unique_topic("admin");
  auto created = JavaClient::admin(bootstrap, {"create-topic", topic, "4", "1"});
  EXPECT_EQ(created["created"].get<std::string>(), topic);
  auto described = JavaClient::admin(bootstrap, {"describe-topic", topic});
  EXPECT_EQ(described["partitions"].get<int>(), 4);
  auto cluster = JavaClient::admin(bootstrap, {"describe-cluster"});
  ASSERT_EQ(cluster["nodes"].size(), 1u);
  EXPECT_EQ(cluster["nodes"][0]["port"].get<int>(), ProxiedKafka::proxy().port(0))
      << "clients must only ever see the proxy's address";
  auto deleted = JavaClient::admin(bootstrap, {"delete-topic", topic});
  EXPECT_EQ(deleted["deleted"].get<std::string>(), topic);
  bool gone = false;
  for (int i = 0; i < 20 && !gone; ++i) {
    auto topics = JavaClient::admin(bootstrap, {"list-topics"});
    gone = std::find(topics.begin(), topics.end(), topic) == topics.end();
  }
  EXPECT_TRUE(gone);
}

TEST(ProxyPassthrough, TransactionsCommitAndAbortWithReadCommitted) {
  const std::string topic = unique_topic("txn");
  ProxiedKafka::cluster().create_topic(topic, 1);
  auto committed = make_records(50, 200, "committed");
  auto aborted = make_records(50, 200, "aborted");
  // The test client's aborting producer reports the batches that the abort failed (those not
  // yet sent) as an error after a successful abort; that is expected here.
  try {
    JavaClient::produce(ProxiedKafka::bootstrap(), topic, aborted,
                        {{"acks", "all"}, {"linger.ms", "0"}}, "txn-a-" + topic, /*abort=*/true);
  } catch (const std::runtime_error& e) {
    ASSERT_NE(std::string(e.what()).find("TransactionAbortedException"), std::string::npos)
        << e.what();
  }
  JavaClient::produce(ProxiedKafka::bootstrap(), topic, committed, {{"acks", "all"}},
                      "txn-c-" + topic, /*abort=*/false);
  // Ask for one record more than was committed: the consumer waits out its timeout and must
  // still return exactly the committed ones, none of the aborted.
  auto received = JavaClient::consume(ProxiedKafka::bootstrap(), topic, committed.size() + 1,
                                      {{"isolation.level", "read_committed"}}, "", 15s);
  expect_same_records(committed, received);
}

TEST(ProxyPassthrough, NoClientConnectsToTheBrokerDirectly) {
  const std::string topic = unique_topic("direct");
  ProxiedKafka::cluster().create_topic(topic, 3);
  auto sent = make_records(2000, 1024, "direct");
  std::atomic<bool> done{false};
  std::set<std::string> foreign;  // command lines of processes connected to the broker port
  size_t samples = 0;
  size_t proxy_connections_seen = 0;
  std::thread sampler([&] {
    while (!done) {
      for (const auto& [pid, line] :
           kenc::testworld::connections_to_port(ProxiedKafka::broker_port())) {
        if (pid == ::getpid()) {
          ++proxy_connections_seen;  // the proxy runs inside this test process
          continue;
        }
        const std::string cmd = kenc::testworld::read_proc_file(pid, "cmdline");
        if (cmd.find("kafka.Kafka ") == std::string::npos) {  // not the broker itself
          foreign.insert("pid " + std::to_string(pid) + " stat [" +
                         kenc::testworld::read_proc_file(pid, "stat").substr(0, 60) +
                         "] cmdline [" + cmd.substr(0, 300) + "] ss [" + line + "]");
        }
      }
      ++samples;
      std::this_thread::sleep_for(50ms);
    }
  });
  JavaClient::produce(ProxiedKafka::bootstrap(), topic, sent, {{"acks", "all"}});
  auto received =
      JavaClient::consume(ProxiedKafka::bootstrap(), topic, sent.size(), {}, "group-" + topic);
  auto kcat = kenc::testworld::run_kcat({"-b", ProxiedKafka::bootstrap(), "-C", "-t", topic, "-o",
                                         "beginning", "-c", "2000", "-e", "-q"});
  done = true;
  sampler.join();
  EXPECT_EQ(received.size(), sent.size());
  EXPECT_EQ(kcat.exit_code, 0) << kcat.output;
  EXPECT_GT(samples, 10u);
  EXPECT_GT(proxy_connections_seen, 0u) << "the sampler never saw the proxy's own connections";
  EXPECT_TRUE(foreign.empty()) << "a client connected to the broker directly: " << *foreign.begin();
}

TEST(ProxyPassthrough, MetricsCountTheTraffic) {
  const std::string topic = unique_topic("metrics");
  ProxiedKafka::cluster().create_topic(topic, 1);
  JavaClient::produce(ProxiedKafka::bootstrap(), topic, make_records(10, 100, "m"));
  const std::string text = ProxiedKafka::proxy().metrics().render();
  EXPECT_NE(text.find("kenc_proxy_requests_total{api_key=\"0\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("kenc_proxy_requests_total{api_key=\"3\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("kenc_proxy_request_latency_seconds_bucket"), std::string::npos);
  EXPECT_EQ(text.find("kenc_proxy_client_bytes_received_total 0\n"), std::string::npos);
}

TEST(ProxyPassthrough, TlsFromClientsAndToTheBroker) {
  const std::string topic = unique_topic("tls");
  ProxiedKafka::cluster().create_topic(topic, 2);
  const kenc::testworld::Properties tls = {{"security.protocol", "SSL"},
                                           {"ssl.truststore.type", "PEM"},
                                           {"ssl.truststore.location", ProxiedKafka::ca_file()}};
  auto sent = make_records(200, 1024, "tls");
  auto producer_props = tls;
  producer_props["acks"] = "all";
  producer_props["enable.idempotence"] = "true";
  auto acked = JavaClient::produce(ProxiedKafka::tls_bootstrap(), topic, sent, producer_props);
  ASSERT_EQ(acked.size(), sent.size());
  auto received = JavaClient::consume(ProxiedKafka::tls_bootstrap(), topic, sent.size(), tls);
  expect_same_records(sent, received);
  // librdkafka over TLS, verifying the proxy's certificate.
  auto kcat =
      kenc::testworld::run_kcat({"-b", ProxiedKafka::tls_bootstrap(), "-X", "security.protocol=ssl",
                                 "-X", "ssl.ca.location=" + ProxiedKafka::ca_file(), "-C", "-t",
                                 topic, "-o", "beginning", "-c", "200", "-e", "-q"});
  EXPECT_EQ(kcat.exit_code, 0) << kcat.output;
}

TEST(ProxyPassthrough, PlainClientOnTheTlsPortIsRejected) {
  // A client that does not speak TLS gets no Kafka answer from the TLS port.
  auto kcat = kenc::testworld::run_kcat(
      {"-b", ProxiedKafka::tls_bootstrap(), "-L", "-m", "5", "-X", "socket.timeout.ms=5000"}, "",
      30s);
  EXPECT_NE(kcat.exit_code, 0) << kcat.output;
}

TEST(ProxyPassthrough, SaslPlainPassesThroughUnchanged) {
  const std::string topic = unique_topic("sasl");
  ProxiedKafka::cluster().create_topic(topic, 1);
  std::string input;
  for (int i = 0; i < 100; ++i) {
    input += "sasl-" + std::to_string(i) + "\n";
  }
  const std::vector<std::string> sasl = {"-X", "security.protocol=SASL_PLAINTEXT",
                                         "-X", "sasl.mechanisms=PLAIN",
                                         "-X", "sasl.username=alice"};
  auto args = std::vector<std::string>{"-b", ProxiedKafka::sasl_bootstrap()};
  args.insert(args.end(), sasl.begin(), sasl.end());
  auto produce = args;
  produce.insert(produce.end(), {"-X", "sasl.password=alice-secret", "-P", "-t", topic});
  auto produced = kenc::testworld::run_kcat(produce, input);
  ASSERT_EQ(produced.exit_code, 0) << produced.output;
  auto consume = args;
  consume.insert(consume.end(), {"-X", "sasl.password=alice-secret", "-C", "-t", topic, "-o",
                                 "beginning", "-c", "100", "-e", "-q"});
  auto consumed = kenc::testworld::run_kcat(consume);
  ASSERT_EQ(consumed.exit_code, 0) << consumed.output;
  EXPECT_EQ(split_lines(consumed.output).size(), 100u);
  // A wrong password is refused by the broker, through the proxy.
  auto wrong = args;
  wrong.insert(wrong.end(), {"-X", "sasl.password=wrong", "-L", "-m", "10"});
  auto refused = kenc::testworld::run_kcat(wrong, "", 60s);
  EXPECT_NE(refused.exit_code, 0) << refused.output;
}

}  // namespace
}  // namespace kenc::proxy

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new kenc::proxy::ProxiedKafka());
  return RUN_ALL_TESTS();
}
