// The real kenc-keybroker daemon with the Vault KMS backend against a real OpenBao server
// (tests/world/kms), over real mutual-TLS gRPC, called through the proxy's key broker client.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "proxy/keybroker_client/keybroker_client.h"
#include "tests/world/base/admin_http.h"
#include "tests/world/keybroker/keybroker_daemon.h"
#include "tests/world/keybroker/test_pki.h"
#include "tests/world/kms/openbao_server.h"

namespace kenc::keybroker::testing {
namespace {

using namespace std::chrono_literals;
using proxy::keybroker_client::DekLease;
using proxy::keybroker_client::KeyBrokerClient;
using proxy::keybroker_client::KeyBrokerClientOptions;
using proxy::keybroker_client::UnwrappedDek;
using testworld::OpenBaoEnvironment;
using testworld::OpenBaoServer;

constexpr char kProxyId[] = "spiffe://kenc.test/proxy/vault-1";
// The broker's policy: how often it asks the KMS for a KEK's latest version.
constexpr auto kKekRefresh = 300ms;

OpenBaoServer& bao() { return OpenBaoEnvironment::server(); }

Result<DekLease> lease(KeyBrokerClient& c, const std::string& kek, const std::string& topic) {
  std::promise<Result<DekLease>> p;
  c.lease_dek(kek, topic, 0, [&](Result<DekLease> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}
Result<UnwrappedDek> unwrap(KeyBrokerClient& c, const std::vector<uint8_t>& edek,
                            const std::string& topic) {
  std::promise<Result<UnwrappedDek>> p;
  c.unwrap_dek(edek, topic, [&](Result<UnwrappedDek> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

// The broker's KMS call counter for one call kind, read from its /metrics page (-1 when the
// page or the series is missing). OpenBao 2.x refuses to enable audit devices over its API, so
// the calls are counted on the broker's side.
long long kms_calls(int admin_port, const std::string& call) {
  const double v =
      testworld::metric_value(testworld::http_get_body(admin_port, "/metrics"),
                              "kenc_keybroker_kms_calls_total", {"call=\"" + call + "\""});
  return static_cast<long long>(v);
}

// Certificates, a token file for the broker, and the broker itself.
class KeybrokerVaultTest : public ::testing::Test {
 protected:
  // The broker's configuration; `transit_mount` is where it looks for the Transit engine.
  static std::string broker_config(int port, int admin_port, const std::string& transit_mount) {
    return "listen: 127.0.0.1:" + std::to_string(port) + "\ntls:\n  ca_file: " + ca_file_ +
           "\n  cert_file: " + server_cert_ + "\n  key_file: " + server_key_ +
           "\nkms:\n  type: vault\n  call_timeout: 2s\n  vault:\n    address: " + bao().address() +
           "\n    transit_mount: " + transit_mount +
           "\n    auth_method: token\n    token_file: " + dir_ + "/vault-token" +
           "\n    connect_timeout_ms: 300\n    request_timeout_ms: 500\n    max_retries: 1\n"
           "    initial_backoff_ms: 20\n    max_backoff_ms: 50\n"
           "deks:\n  lease_size: 1000\n  max_encryptions_per_dek: 100000000\n"
           "  kek_refresh_interval: " +
           std::to_string(kKekRefresh.count()) + "ms\naudit:\n  path: '" + dir_ + "/broker-audit" +
           (transit_mount == "transit" ? "" : "-" + transit_mount) +
           ".jsonl'\nadmin:\n  listen: 127.0.0.1:" + std::to_string(admin_port) + "\n" +
           "authorization:\n  rules:\n    - identities: ['spiffe://kenc.test/proxy/*']\n"
           "      keks: ['vt-*']\n      operations: [lease, unwrap, resolve]\n";
  }
  static void SetUpTestSuite() {
    if (!OpenBaoEnvironment::ready()) return;
    dir_ = bao().run_dir() + "/keybroker";
    std::filesystem::create_directories(dir_);
    ca_ = new TestCa("kenc vault test CA");
    std::tie(server_cert_, server_key_) =
        ca_->issue({"keybroker", "DNS:localhost,IP:127.0.0.1"}).write(dir_, "server");
    auto client_pem = ca_->issue({"client", std::string("URI:") + kProxyId});
    std::tie(client_cert_, client_key_) = client_pem.write(dir_, "client");
    ca_file_ = dir_ + "/ca.crt";
    std::ofstream(ca_file_) << ca_->cert_pem();
    const std::string token_file = dir_ + "/vault-token";
    std::ofstream(token_file) << bao().root_token() << "\n";
    ::chmod(token_file.c_str(), 0600);

    const int port = free_port();
    admin_port_ = free_port();
    const std::string config = broker_config(port, admin_port_, "transit");
    daemon_ = new KeybrokerDaemon(dir_, "broker", config, port);
    start_error_ = daemon_->start();
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    delete ca_;
    ca_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(OpenBaoEnvironment::ready()) << OpenBaoEnvironment::failure();
    ASSERT_EQ(start_error_, "") << "the key broker did not start";
  }
  void TearDown() override {
    if (HasFailure()) {
      bao().keep_logs();
      if (daemon_ != nullptr) std::cerr << "broker log:\n" << daemon_->log();
    }
  }

  // A client of the suite's broker, or of the broker on `port`.
  static std::unique_ptr<KeyBrokerClient> client(std::chrono::milliseconds deadline = 5s,
                                                 int port = 0) {
    KeyBrokerClientOptions options;
    options.target = "127.0.0.1:" + std::to_string(port != 0 ? port : daemon_->port());
    options.ca_file = ca_file_;
    options.cert_file = client_cert_;
    options.key_file = client_key_;
    options.deadline = deadline;
    options.wait_for_ready = false;
    auto c = KeyBrokerClient::create(options);
    if (!c.ok()) throw std::runtime_error(c.error().to_string());
    return std::move(c.value());
  }
  static std::string topic() {
    return std::string("topic-") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  static std::string dir_, ca_file_, client_cert_, client_key_, server_cert_, server_key_,
      start_error_;
  static int admin_port_;
  static TestCa* ca_;
  static KeybrokerDaemon* daemon_;
};

std::string KeybrokerVaultTest::dir_;
std::string KeybrokerVaultTest::ca_file_;
std::string KeybrokerVaultTest::client_cert_;
std::string KeybrokerVaultTest::client_key_;
std::string KeybrokerVaultTest::server_cert_;
std::string KeybrokerVaultTest::server_key_;
int KeybrokerVaultTest::admin_port_ = 0;
std::string KeybrokerVaultTest::start_error_ = "OpenBao is not running";
TestCa* KeybrokerVaultTest::ca_ = nullptr;
KeybrokerDaemon* KeybrokerVaultTest::daemon_ = nullptr;

TEST_F(KeybrokerVaultTest, LeasedEdekUnwrapsToTheSameDek) {
  ASSERT_TRUE(bao().create_key("vt-orders").ok());
  auto c = client();
  auto leased = lease(*c, "vt-orders", topic());
  ASSERT_TRUE(leased.ok()) << leased.error().to_string();
  EXPECT_EQ(leased->dek.size(), 32u);
  EXPECT_EQ(leased->kek_id, "vt-orders");
  EXPECT_EQ(leased->kek_version, 1u);

  auto unwrapped = unwrap(*client(), leased->edek, topic());
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.error().to_string();
  EXPECT_TRUE(std::ranges::equal(unwrapped->dek.view(), leased->dek.view()));
  EXPECT_EQ(unwrapped->dek_id, leased->dek_id);
}

TEST_F(KeybrokerVaultTest, RotatedKekGivesNewDeksWhileOldEdeksStillUnwrap) {
  ASSERT_TRUE(bao().create_key("vt-rotating").ok());
  auto c = client();
  auto before = lease(*c, "vt-rotating", topic());
  ASSERT_TRUE(before.ok()) << before.error().to_string();
  ASSERT_EQ(before->kek_version, 1u);

  ASSERT_TRUE(bao().rotate_key("vt-rotating").ok());
  // The broker notices within kek_refresh_interval; poll a few intervals, no longer.
  Result<DekLease> after = lease(*c, "vt-rotating", topic());
  for (int i = 0; i < 20 && after.ok() && after->kek_version == 1u; ++i) {
    std::this_thread::sleep_for(kKekRefresh / 2);
    after = lease(*c, "vt-rotating", topic());
  }
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_EQ(after->kek_version, 2u);
  EXPECT_NE(after->dek_id, before->dek_id);

  auto old = unwrap(*client(), before->edek, topic());
  ASSERT_TRUE(old.ok()) << old.error().to_string();
  EXPECT_TRUE(std::ranges::equal(old->dek.view(), before->dek.view()));
  auto fresh = unwrap(*client(), after->edek, topic());
  ASSERT_TRUE(fresh.ok()) << fresh.error().to_string();
  EXPECT_TRUE(std::ranges::equal(fresh->dek.view(), after->dek.view()));
}

TEST_F(KeybrokerVaultTest, UnknownKekIsNotFound) {
  auto r = lease(*client(), "vt-no-such-kek", topic());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound) << r.error().to_string();
}

TEST_F(KeybrokerVaultTest, AMissingTransitMountIsAnErrorNotAMissingKek) {
  // The KEK exists under `transit`, but this broker looks for Transit elsewhere: OpenBao answers
  // 404 "no handler for route", which must not read as "no such KEK" (the proxy's
  // `unresolved_kek: passthrough` would then send records in plaintext).
  ASSERT_TRUE(bao().create_key("vt-mount").ok());
  const int port = free_port();
  KeybrokerDaemon misconfigured(dir_, "broker-bad-mount",
                                broker_config(port, free_port(), "transit-not-enabled"), port);
  ASSERT_EQ(misconfigured.start(), "");
  auto r = lease(*client(5s, port), "vt-mount", topic());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInternal) << r.error().to_string();
  EXPECT_NE(r.error().message.find("mount path"), std::string::npos) << r.error().to_string();
  // The same KEK through the correctly configured broker is fine.
  EXPECT_TRUE(lease(*client(), "vt-mount", topic()).ok());
}

TEST_F(KeybrokerVaultTest, PausedOpenBaoIsUnavailableWithinTheDeadlineThenRecovers) {
  ASSERT_TRUE(bao().create_key("vt-outage").ok());
  constexpr auto kDeadline = 3s;
  auto c = client(kDeadline);
  bao().pause();
  const auto start = std::chrono::steady_clock::now();
  auto r = lease(*c, "vt-outage", topic());
  const auto took = std::chrono::steady_clock::now() - start;
  bao().resume();
  ASSERT_FALSE(r.ok()) << "a lease succeeded while OpenBao was stopped";
  // docs/keybroker.md: a KMS that does not answer within the call's deadline is UNAVAILABLE.
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
  EXPECT_LT(took, kDeadline + 500ms);

  auto again = lease(*c, "vt-outage", topic());
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->kek_id, "vt-outage");
  auto back = unwrap(*c, again->edek, topic());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(std::ranges::equal(back->dek.view(), again->dek.view()));
}

// A deadline shorter than the Vault backend's own timeouts and retries (2 x 500 ms): the
// broker cuts the wait short and answers UNAVAILABLE just before the caller's deadline.
TEST_F(KeybrokerVaultTest, PausedOpenBaoAnswersBeforeAShortDeadline) {
  ASSERT_TRUE(bao().create_key("vt-short-deadline").ok());
  constexpr auto kDeadline = 700ms;
  auto c = client(kDeadline);
  bao().pause();
  const auto start = std::chrono::steady_clock::now();
  auto r = lease(*c, "vt-short-deadline", topic());
  const auto took = std::chrono::steady_clock::now() - start;
  bao().resume();
  ASSERT_FALSE(r.ok()) << "a lease succeeded while OpenBao was stopped";
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
  EXPECT_LT(took, kDeadline + 100ms);

  auto again = lease(*client(), "vt-short-deadline", topic());
  ASSERT_TRUE(again.ok()) << again.error().to_string();
}

TEST_F(KeybrokerVaultTest, ThousandConcurrentLeasesForANewKekMakeOneDatakeyCall) {
  const std::string kek = "vt-burst";
  ASSERT_TRUE(bao().create_key(kek).ok());
  const long long generate_before = kms_calls(admin_port_, "generate_dek");
  ASSERT_GE(generate_before, 0) << "no KMS call counter on the broker's /metrics";

  constexpr int kLeases = 1000;
  auto c = client(20s);
  std::mutex mu;
  std::condition_variable done_cv;
  int done = 0;
  std::vector<Result<DekLease>> results;
  results.reserve(kLeases);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kLeases; ++i) {
    c->lease_dek(kek, topic(), 1, [&](Result<DekLease> r) {
      std::lock_guard lock(mu);
      results.push_back(std::move(r));
      if (++done == kLeases) done_cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(done_cv.wait_for(lock, 60s, [&] { return done == kLeases; }))
        << done << " of " << kLeases << " leases answered";
  }
  const auto took = std::chrono::steady_clock::now() - start;
  std::cout << "[ figures  ] " << kLeases << " concurrent LeaseDek for a new KEK took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";

  std::set<std::vector<uint8_t>> dek_ids;
  std::set<uint32_t> lease_numbers;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    dek_ids.insert(r->dek_id);
    lease_numbers.insert(r->lease_number);
  }
  EXPECT_EQ(dek_ids.size(), 1u);
  EXPECT_EQ(lease_numbers.size(), static_cast<size_t>(kLeases));

  // One Vault datakey call (generate_dek) served all of them.
  EXPECT_EQ(kms_calls(admin_port_, "generate_dek") - generate_before, 1);
}

}  // namespace
}  // namespace kenc::keybroker::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::OpenBaoEnvironment());
  return RUN_ALL_TESTS();
}
