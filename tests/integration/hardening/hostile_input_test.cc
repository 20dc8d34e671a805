// Hostile input against the running kenc-proxy daemon in front of a real Kafka broker: frame
// sizes beyond the limit or negative, unknown API keys and versions, garbage headers, truncated
// frames, truncated batches and bad CRCs in Produce, garbage TLS handshakes. Each gets a clear
// error response or a disconnect, the process stays up, and a connection opened before the attack
// (a bystander) keeps working, as do real clients running during the attack.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "tests/integration/hardening/raw_kafka.h"
#include "tests/world/kafka/java_client.h"
#include "tests/world/kafka/kafka_cluster.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/tls_certificates.h"

namespace kenc::testworld::hardening {
namespace {

using namespace std::chrono_literals;

constexpr int32_t kMaxFrameBytes = 1 << 20;
constexpr int16_t kCorruptMessage = 2;

class HostileInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto& cluster = KafkaEnvironment::cluster();
    run_dir_ = new RunDir("hostile-proxy");
    certs_ = new TlsCertificates(make_tls_certificates(run_dir_->file("tls")));
    plain_port_ = free_port_range(5);  // plain, TLS, encrypting: bootstrap + broker port each
    tls_port_ = plain_port_ + 2;
    enc_port_ = plain_port_ + 4;
    // The key broker with the embedded local KMS (KEKs made on first use), plaintext gRPC: this
    // suite is about the proxy; the key broker's own TLS is attacked in
    // keybroker_integration_tests.
    const int kb_port = free_port();
    const std::string kb_config = run_dir_->file("keybroker.yaml");
    std::ofstream(kb_config)
        << "listen: 127.0.0.1:" << kb_port << "\n"
        << "insecure_plaintext_for_development: true\n"
        << "kms:\n  type: local\n  local:\n    key_file: " << run_dir_->file("keks.json")
        << "\n    create_missing_keks: true\n"
        << "audit: {path: " << run_dir_->file("audit.jsonl") << "}\n"
        << "authorization:\n  rules:\n"
        << "    - {identities: ['*'], keks: ['*'], operations: [lease, unwrap, resolve]}\n";
    Process::Options kb;
    kb.argv = {KENC_KEYBROKER_BINARY, "--config", kb_config};
    kb.log_file = run_dir_->file("keybroker.log");
    keybroker_ = new Process(kb);
    for (int i = 0; i < 400 && !port_open(kb_port); ++i) std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(port_open(kb_port)) << tail_file(kb.log_file);
    const std::string upstream =
        "    upstream: {bootstrap_servers: [\"" + cluster.bootstrap_servers() + "\"]}\n";
    std::ostringstream yaml;
    yaml << "worker_threads: 2\n"
         << "max_frame_bytes: " << kMaxFrameBytes << "\n"
         << "virtual_clusters:\n"
         << "  - name: plain\n"
         << upstream << "    gateway:\n"
         << "      bootstrap: \"127.0.0.1:" << plain_port_ << "\"\n"
         << "      port_per_broker: {node_id_min: 1, node_id_max: 1}\n"
         << "  - name: tls\n"
         << upstream << "    gateway:\n"
         << "      bootstrap: \"127.0.0.1:" << tls_port_ << "\"\n"
         << "      port_per_broker: {node_id_min: 1, node_id_max: 1}\n"
         << "      tls: {cert_file: \"" << certs_->cert_chain << "\", key_file: \"" << certs_->key
         << "\"}\n"
         << "  - name: enc\n"
         << upstream << "    gateway:\n"
         << "      bootstrap: \"127.0.0.1:" << enc_port_ << "\"\n"
         << "      port_per_broker: {node_id_min: 1, node_id_max: 1}\n"
         << "    encryption:\n"
         << "      key_broker: {target: \"127.0.0.1:" << kb_port
         << "\", insecure_plaintext_for_development: true}\n"
         << "      topics:\n"
         << "        rules: [{prefix: \"enc-\", kek: \"KEK_$(topicName)\"}]\n"
         << "        unmatched_topic: passthrough\n";
    proxy_ = new ProxyDaemon(*run_dir_, "proxy", yaml.str(), enc_port_ + 1);
  }
  static void TearDownTestSuite() {
    delete proxy_;
    delete keybroker_;
    delete certs_;
    delete run_dir_;
  }

  void SetUp() override {
    bystander_ = std::make_unique<RawConnection>(plain_port_);
    ASSERT_TRUE(api_versions_round_trip(*bystander_, 1)) << proxy_->log();
  }
  // After each attack: the daemon is up, the bystander's connection still works, and a brand-new
  // connection works too.
  void TearDown() override {
    EXPECT_TRUE(proxy_->running()) << "kenc-proxy died: " << proxy_->log();
    EXPECT_TRUE(api_versions_round_trip(*bystander_, 2)) << "the bystander connection broke";
    RawConnection fresh(plain_port_);
    EXPECT_TRUE(api_versions_round_trip(fresh, 3)) << "a new connection is not served";
  }

  // Sends `bytes` on a fresh connection; true when the proxy disconnects it.
  static bool disconnected_after(const Bytes& bytes, int port = plain_port_) {
    RawConnection conn(port);
    EXPECT_TRUE(conn.connected());
    conn.send(bytes);  // may fail half-way when the proxy hangs up early: that is the point
    return conn.closed_by_peer_within(20s);
  }

  static RunDir* run_dir_;
  static TlsCertificates* certs_;
  static ProxyDaemon* proxy_;
  static Process* keybroker_;
  static int plain_port_;
  static int enc_port_;
  static int tls_port_;
  std::unique_ptr<RawConnection> bystander_;
};

RunDir* HostileInput::run_dir_ = nullptr;
TlsCertificates* HostileInput::certs_ = nullptr;
ProxyDaemon* HostileInput::proxy_ = nullptr;
Process* HostileInput::keybroker_ = nullptr;
int HostileInput::enc_port_ = 0;
int HostileInput::plain_port_ = 0;
int HostileInput::tls_port_ = 0;

Bytes size_prefix(uint32_t size) {
  return {static_cast<uint8_t>(size >> 24), static_cast<uint8_t>(size >> 16),
          static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
}

TEST_F(HostileInput, FrameSizesBeyondTheLimitOrNegativeAreDisconnected) {
  for (uint32_t size : {uint32_t{kMaxFrameBytes} + 1, 0x7fffffffu, 0xffffffffu, 0x80000000u}) {
    Bytes bytes = size_prefix(size);
    bytes.resize(bytes.size() + 64, 0x41);
    EXPECT_TRUE(disconnected_after(bytes)) << "frame size " << size << " was not refused";
  }
}

TEST_F(HostileInput, EmptyAndShorterThanAHeaderFramesAreDisconnected) {
  EXPECT_TRUE(disconnected_after(size_prefix(0)));
  EXPECT_TRUE(disconnected_after(frame({0x00, 0x12, 0x00})));
}

TEST_F(HostileInput, UnknownApiKeysAndVersionsGetAnErrorOrADisconnect) {
  // Unknown keys pass through untouched; the broker then refuses them. Either way the client
  // learns at once: an error response or a closed connection, never silence.
  for (auto [key, version] : {std::pair<int16_t, int16_t>{9999, 0}, {-5, 0}, {18, 999}, {0, 999}}) {
    RawConnection conn(plain_port_);
    ASSERT_TRUE(conn.send(request(key, version, 77, {1, 2, 3, 4})));
    auto response = conn.read_frame(20s);
    if (response) {
      EXPECT_EQ(correlation_id_of(*response), 77) << "api key " << key << " v" << version;
    } else {
      EXPECT_TRUE(conn.closed_by_peer_within(20s)) << "api key " << key << " v" << version;
    }
  }
}

TEST_F(HostileInput, GarbageHeadersAreDisconnected) {
  uint32_t seed = 12345;
  for (int i = 0; i < 20; ++i) {
    Bytes payload(40 + i * 13);
    for (auto& b : payload) b = static_cast<uint8_t>((seed = seed * 1103515245 + 12345) >> 16);
    payload[0] = 0x7f;  // an API key no Kafka version knows
    RawConnection conn(plain_port_);
    conn.send(frame(payload));
    auto response = conn.read_frame(20s);
    EXPECT_TRUE(!response || conn.closed_by_peer_within(20s) || response->size() >= 4);
  }
}

TEST_F(HostileInput, ATruncatedFrameThenHangUpLeavesNothingBehind) {
  for (int i = 0; i < 50; ++i) {
    RawConnection conn(plain_port_);
    Bytes bytes = size_prefix(kMaxFrameBytes);
    bytes.resize(bytes.size() + 1000, 0x42);
    conn.send(bytes);
  }  // each closes with a frame 1,000 bytes into 1 MiB
}

TEST_F(HostileInput, ProduceWithABadCrcOrATruncatedBatchGetsAnErrorAndStoresNothing) {
  const std::string topic = unique_topic("hostile-produce");
  KafkaEnvironment::cluster().create_topic(topic, 1, 1);
  Bytes bad_crc = record_batch(5, 100);
  bad_crc[20] ^= 0xff;  // inside the CRC field (offset 17..20)
  Bytes truncated = record_batch(5, 100);
  truncated.resize(truncated.size() - 30);
  Bytes garbage(200, 0x5a);
  int correlation = 100;
  for (const Bytes* records : {&bad_crc, &truncated, &garbage}) {
    RawConnection conn(plain_port_);
    ASSERT_TRUE(conn.send(produce_request(++correlation, topic, 0, *records)));
    auto response = conn.read_frame(20s);
    if (response) {
      ASSERT_EQ(correlation_id_of(*response), correlation);
      auto error = produce_error(*response);
      ASSERT_TRUE(error.has_value());
      EXPECT_NE(*error, 0) << "a corrupt batch was accepted";
      if (records == &bad_crc) {
        EXPECT_EQ(*error, kCorruptMessage);
      }
    } else {
      EXPECT_TRUE(conn.closed_by_peer_within(20s));
    }
  }
  // Nothing was stored: a good produce lands at offset 0.
  RawConnection conn(plain_port_);
  ASSERT_TRUE(conn.send(produce_request(200, topic, 0, record_batch(1, 10))));
  auto ok = conn.read_frame(20s);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(produce_error(*ok), int16_t{0});
  auto consumed = run_kcat({"-b", "127.0.0.1:" + std::to_string(plain_port_), "-C", "-t", topic,
                            "-o", "beginning", "-e", "-q", "-f", "%o\\n"});
  EXPECT_EQ(consumed.output, "0\n") << consumed.output;
}

TEST_F(HostileInput, GarbageTlsHandshakesAreDisconnectedWhileTlsClientsWork) {
  Bytes garbage(16 * 1024);
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<uint8_t>(i * 31 + 7);
  // A complete TLS record holding a ClientHello whose body is junk. (A record cut short would
  // wait for its remaining bytes until idle_timeout_ms, like any silent connection.)
  Bytes fake_hello = {0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc};
  fake_hello.resize(5 + 0x4000);
  std::copy(garbage.begin(), garbage.begin() + (fake_hello.size() - 9), fake_hello.begin() + 9);
  Bytes plaintext_kafka = api_versions_request(9);  // Kafka without TLS on the TLS port
  Bytes ssl2_hello = {0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15};
  ssl2_hello.resize(48, 0);
  for (const Bytes* bytes : {&garbage, &fake_hello, &plaintext_kafka, &ssl2_hello}) {
    EXPECT_TRUE(disconnected_after(*bytes, tls_port_)) << "input starting " << int{(*bytes)[0]};
  }
  auto md = run_kcat({"-b", "127.0.0.1:" + std::to_string(tls_port_), "-X", "security.protocol=ssl",
                      "-X", "ssl.ca.location=" + certs_->ca_cert, "-L"});
  EXPECT_EQ(md.exit_code, 0) << md.output;
}

TEST_F(HostileInput, GarbageCipherRecordsFailTheirPartitionAndAreNeverServedAsData) {
  // Someone with write access to the brokers (not through the proxy) stores records that carry
  // the `kenc` header but whose values are not cipher records.
  const std::string topic = unique_topic("enc-garbage");
  auto& cluster = KafkaEnvironment::cluster();
  cluster.create_topic(topic, 1, 1);
  const std::string garbage_values = "garbage-one\ngarbage-two\ngarbage-three\n";
  for (const std::string& header :
       {std::string("kenc=\x01"), std::string("kenc=\x02"), std::string("kenc=\x7f")}) {
    auto direct = run_kcat({"-b", cluster.bootstrap_servers(), "-P", "-t", topic, "-H", header},
                           garbage_values);
    ASSERT_EQ(direct.exit_code, 0) << direct.output;
  }
  // A fetch through the encrypting proxy: the partition carries an error, no record is served.
  RawConnection conn(enc_port_);
  ASSERT_TRUE(conn.send(fetch_request(300, topic, 0, 0, 1 << 20)));
  auto response = conn.read_frame(30s);
  ASSERT_TRUE(response.has_value()) << proxy_->log();
  ASSERT_EQ(correlation_id_of(*response), 300);
  EXPECT_EQ(fetch_error(*response), std::optional<int16_t>(kCorruptMessage));
  const std::string body(response->begin(), response->end());
  EXPECT_EQ(body.find("garbage-one"), std::string::npos) << "a garbage record was served as data";
  // The connection stays up: the next request on it is answered.
  EXPECT_TRUE(api_versions_round_trip(conn, 301));
  // The proxy says which topic and partition (and offset) failed.
  EXPECT_NE(proxy_->log().find(topic), std::string::npos) << proxy_->log();
  // Encryption still works end to end on the same proxy.
  const std::string good = unique_topic("enc-good");
  cluster.create_topic(good, 1, 1);
  const std::string enc = "127.0.0.1:" + std::to_string(enc_port_);
  auto produced = run_kcat({"-b", enc, "-P", "-t", good}, "secret-one\nsecret-two\n");
  ASSERT_EQ(produced.exit_code, 0) << produced.output;
  auto through = run_kcat({"-b", enc, "-C", "-t", good, "-o", "beginning", "-e", "-q"});
  EXPECT_EQ(through.output, "secret-one\nsecret-two\n");
  auto direct = run_kcat(
      {"-b", cluster.bootstrap_servers(), "-C", "-t", good, "-o", "beginning", "-e", "-q"});
  EXPECT_EQ(direct.output.find("secret-"), std::string::npos) << "stored in plaintext";
}

TEST_F(HostileInput, RealClientsKeepWorkingDuringAnAttackFromManyConnections) {
  const std::string topic = unique_topic("hostile-bystander");
  KafkaEnvironment::cluster().create_topic(topic, 1, 1);
  std::atomic<bool> stop{false};
  std::atomic<int> attacks{0};
  std::vector<std::thread> attackers;
  for (int t = 0; t < 4; ++t) {
    attackers.emplace_back([&, t] {
      Bytes huge = size_prefix(0x7fffffff);
      Bytes unknown = request(31000, 3, 5, Bytes(100, 0x33));
      Bytes bad_tls(512, static_cast<uint8_t>(t));
      while (!stop) {
        disconnected_after(huge);
        {
          RawConnection conn(plain_port_);
          conn.send(unknown);
          (void)conn.read_frame(2s);
        }
        disconnected_after(bad_tls, tls_port_);
        attacks += 3;
      }
    });
  }
  std::string input;
  for (int i = 0; i < 2000; ++i) input += "value-" + std::to_string(i) + "\n";
  auto produced = run_kcat(
      {"-b", "127.0.0.1:" + std::to_string(plain_port_), "-P", "-t", topic, "-X", "acks=all"},
      input);
  auto consumed = run_kcat({"-b", "127.0.0.1:" + std::to_string(plain_port_), "-C", "-t", topic,
                            "-o", "beginning", "-e", "-q"});
  stop = true;
  for (auto& t : attackers) t.join();
  EXPECT_EQ(produced.exit_code, 0) << produced.output;
  EXPECT_EQ(consumed.output, input);
  EXPECT_GT(attacks.load(), 0);
  std::cout << "hostile connections during the client run: " << attacks.load() << "\n";
}

}  // namespace
}  // namespace kenc::testworld::hardening

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  kenc::testworld::KafkaCluster::Options options;
  options.label = "hostile-kafka";
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::KafkaEnvironment(options));
  return RUN_ALL_TESTS();
}
