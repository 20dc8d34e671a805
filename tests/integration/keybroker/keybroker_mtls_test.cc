// The real kenc-keybroker daemon, over real mutual-TLS gRPC, with the local KMS, called through
// the proxy's key broker client. Certificates are generated at test time.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "keybroker/dek/unwrapped_dek.h"
#include "keybroker/kms/local/local_kms.h"
#include "proxy/keybroker_client/keybroker_client.h"
#include "tests/world/base/admin_http.h"
#include "tests/world/keybroker/keybroker_daemon.h"
#include "tests/world/keybroker/test_pki.h"

namespace kenc::keybroker::testing {
namespace {

using namespace std::chrono_literals;
using proxy::keybroker_client::DekLease;
using proxy::keybroker_client::KekResolution;
using proxy::keybroker_client::KeyBrokerClient;
using proxy::keybroker_client::KeyBrokerClientOptions;
using proxy::keybroker_client::UnwrappedDek;

constexpr char kProxyId[] = "spiffe://kenc.test/proxy/eu-1";
constexpr char kAuditorId[] = "spiffe://kenc.test/auditor";
constexpr char kIntruderId[] = "spiffe://kenc.test/intruder";

std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kenc-kb-it-XXXXXX").string();
  return ::mkdtemp(tmpl.data());
}

// Everything one broker needs: certificates, a key file with KEK "orders-kek", a config.
class World {
 public:
  World() : dir_(make_temp_dir()), ca_("kenc test CA"), other_ca_("some other CA") {
    auto server = ca_.issue({"keybroker", "DNS:localhost,IP:127.0.0.1"});
    std::tie(server_cert_, server_key_) = server.write(dir_, "server");
    ca_file_ = (dir_ / "ca.crt").string();
    std::ofstream(ca_file_) << ca_.cert_pem();
    key_file_ = (dir_ / "keks.json").string();
    auto kms = kms::LocalKms::open({key_file_, false});
    if (!kms.ok()) {
      throw std::runtime_error(kms.error().to_string());
    }
    (*kms)->create_kek("orders-kek").value();
    (*kms)->create_kek("secret-kek").value();
  }
  ~World() { std::filesystem::remove_all(dir_); }

  std::string config(int port, const std::string& audit_path, const std::string& extra = "") const {
    return "listen: 127.0.0.1:" + std::to_string(port) +
           "\n"
           "tls:\n"
           "  ca_file: " +
           ca_file_ +
           "\n"
           "  cert_file: " +
           server_cert_ +
           "\n"
           "  key_file: " +
           server_key_ +
           "\n"
           "kms:\n"
           "  type: local\n"
           "  local:\n"
           "    key_file: " +
           key_file_ +
           "\n"
           "    create_missing_keks: false\n"
           "  call_timeout: 3s\n"
           "kek_aliases:\n"
           "  orders: orders-kek\n"
           "deks:\n"
           "  lease_size: 1000\n"
           "  max_encryptions_per_dek: 1000000\n"
           "audit:\n"
           "  path: '" +
           audit_path +
           "'\n"
           "authorization:\n"
           "  rules:\n"
           "    - identities: ['spiffe://kenc.test/proxy/*']\n"
           "      keks: ['orders', 'orders-*']\n"
           "      operations: [lease, unwrap, resolve]\n"
           "    - identities: ['proxy-dns.kenc.test', 'cn-only-proxy']\n"
           "      keks: ['orders']\n"
           "      operations: [resolve]\n"
           "    - identities: ['" +
           std::string(kAuditorId) +
           "']\n"
           "      keks: ['orders']\n"
           "      operations: [unwrap]\n" +
           extra;
  }

  // A client whose certificate says `identity`, issued by `ca` (our CA by default).
  std::unique_ptr<KeyBrokerClient> client(int port, const std::string& identity,
                                          const TestCa* ca = nullptr, CertSpec spec = {},
                                          bool wait_for_ready = false) {
    spec.common_name = "client";
    spec.subject_alt_names = "URI:" + identity;
    return client_for(port, spec, ca, wait_for_ready);
  }

  // A client with exactly the certificate `spec` describes.
  std::unique_ptr<KeyBrokerClient> client_for(int port, const CertSpec& spec,
                                              const TestCa* ca = nullptr,
                                              bool wait_for_ready = false) {
    auto pem = (ca ? *ca : ca_).issue(spec);
    auto [cert, key] = pem.write(dir_, "client-" + std::to_string(++clients_));
    return client_with(port, cert, key, wait_for_ready);
  }

  std::unique_ptr<KeyBrokerClient> client_with(int port, const std::string& cert,
                                               const std::string& key,
                                               bool wait_for_ready = false) const {
    KeyBrokerClientOptions options;
    options.target = "127.0.0.1:" + std::to_string(port);
    options.ca_file = ca_file_;
    options.cert_file = cert;
    options.key_file = key;
    options.deadline = 5s;
    // Off in most tests: a refused handshake then fails at once instead of at the deadline.
    options.wait_for_ready = wait_for_ready;
    auto c = KeyBrokerClient::create(options);
    if (!c.ok()) {
      throw std::runtime_error(c.error().to_string());
    }
    return std::move(c.value());
  }

  const std::filesystem::path& dir() const { return dir_; }
  const TestCa& other_ca() const { return other_ca_; }
  const std::string& key_file() const { return key_file_; }

 private:
  std::filesystem::path dir_;
  TestCa ca_;
  TestCa other_ca_;
  std::string ca_file_, server_cert_, server_key_, key_file_;
  int clients_ = 0;
};

// Blocking wrappers: the tests wait, the client itself never does.
Result<DekLease> lease(KeyBrokerClient& c, const std::string& alias, const std::string& topic) {
  std::promise<Result<DekLease>> p;
  c.lease_dek(alias, topic, 0, [&](Result<DekLease> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}
Result<UnwrappedDek> unwrap(KeyBrokerClient& c, const std::vector<uint8_t>& edek,
                            const std::string& topic) {
  std::promise<Result<UnwrappedDek>> p;
  c.unwrap_dek(edek, topic, [&](Result<UnwrappedDek> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}
Result<KekResolution> resolve(KeyBrokerClient& c, const std::string& alias) {
  std::promise<Result<KekResolution>> p;
  c.resolve_alias(alias, [&](Result<KekResolution> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

std::vector<nlohmann::json> audit_lines(const std::string& path, const std::string& topic = "") {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "unparseable audit line: " << line;
    if (j.is_discarded()) {
      continue;
    }
    if (topic.empty() || j.value("topic", "") == topic) {
      out.push_back(j);
    }
  }
  return out;
}

size_t occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

class KeybrokerMtlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World();
    audit_path_ = (world_->dir() / "audit.jsonl").string();
    int port = free_port();
    admin_port_ = free_port();
    daemon_ = new KeybrokerDaemon(
        world_->dir(), "broker",
        world_->config(port, audit_path_,
                       "admin:\n  listen: 127.0.0.1:" + std::to_string(admin_port_) + "\n"),
        port);
    start_error_ = daemon_->start();
  }
  static void TearDownTestSuite() {
    delete daemon_;
    delete world_;
  }
  void SetUp() override { ASSERT_EQ(start_error_, "") << "the key broker did not start"; }

  static int port() { return daemon_->port(); }

  // The broker's own log says why it refused the handshake.
  static void expect_broker_logged(const std::string& reason, size_t before) {
    for (int i = 0; i < 50 && occurrences(daemon_->log(), reason) <= before; ++i) {
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_GT(occurrences(daemon_->log(), reason), before) << "broker log lacks: " << reason;
  }
  static std::string topic() {
    return std::string("topic-") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  static World* world_;
  static KeybrokerDaemon* daemon_;
  static int admin_port_;
  static std::string audit_path_;
  static std::string start_error_;
};

World* KeybrokerMtlsTest::world_ = nullptr;
KeybrokerDaemon* KeybrokerMtlsTest::daemon_ = nullptr;
int KeybrokerMtlsTest::admin_port_ = 0;
std::string KeybrokerMtlsTest::audit_path_;
std::string KeybrokerMtlsTest::start_error_;

TEST_F(KeybrokerMtlsTest, LeaseThenUnwrapGivesTheSameDek) {
  auto client = world_->client(port(), kProxyId);
  auto leased = lease(*client, "orders", topic());
  ASSERT_TRUE(leased.ok()) << leased.error().to_string();
  EXPECT_EQ(leased->dek.size(), 32u);
  EXPECT_EQ(leased->kek_id, "orders-kek");
  EXPECT_EQ(leased->kek_version, 1u);
  EXPECT_EQ(leased->encryption_budget, 1000u);
  EXPECT_GT(leased->expires_at, std::chrono::system_clock::now());
  EXPECT_EQ(leased->dek_id.size(), 16u);

  // Another proxy instance, and an auditor allowed to unwrap only, get the same key back.
  for (const char* who : {"spiffe://kenc.test/proxy/eu-2", kAuditorId}) {
    auto other = world_->client(port(), who);
    auto unwrapped = unwrap(*other, leased->edek, topic());
    ASSERT_TRUE(unwrapped.ok()) << who << ": " << unwrapped.error().to_string();
    EXPECT_TRUE(std::ranges::equal(unwrapped->dek.view(), leased->dek.view()));
    EXPECT_EQ(unwrapped->dek_id, leased->dek_id);
  }
}

TEST_F(KeybrokerMtlsTest, LeasesOfOneDekGetDistinctLeaseNumbers) {
  auto a = world_->client(port(), "spiffe://kenc.test/proxy/a");
  auto b = world_->client(port(), "spiffe://kenc.test/proxy/b");
  std::set<std::pair<std::vector<uint8_t>, uint32_t>> seen;
  for (int i = 0; i < 20; ++i) {
    for (auto* c : {a.get(), b.get()}) {
      auto l = lease(*c, "orders", topic());
      ASSERT_TRUE(l.ok()) << l.error().to_string();
      EXPECT_TRUE(seen.emplace(l->dek_id, l->lease_number).second);
    }
  }
}

TEST_F(KeybrokerMtlsTest, ResolveAliasMapsAndUnknownKekIsNotFound) {
  auto client = world_->client(port(), kProxyId);
  auto resolved = resolve(*client, "orders");
  ASSERT_TRUE(resolved.ok()) << resolved.error().to_string();
  EXPECT_EQ(resolved->kek_id, "orders-kek");
  EXPECT_EQ(resolved->kek_version, 1u);
  auto missing = lease(*client, "orders-unknown", topic());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound) << missing.error().to_string();
}

TEST_F(KeybrokerMtlsTest, IdentityIsTheUriSanElseTheDnsSanElseTheCommonName) {
  CertSpec dns_only{"ignored-cn", "DNS:proxy-dns.kenc.test"};
  auto by_dns = resolve(*world_->client_for(port(), dns_only), "orders");
  EXPECT_TRUE(by_dns.ok()) << by_dns.error().to_string();

  CertSpec cn_only{"cn-only-proxy", ""};
  auto by_cn = resolve(*world_->client_for(port(), cn_only), "orders");
  EXPECT_TRUE(by_cn.ok()) << by_cn.error().to_string();

  // With a SAN present the CN does not count: this certificate is the intruder.
  CertSpec san_wins{"cn-only-proxy", std::string("URI:") + kIntruderId};
  auto by_san = resolve(*world_->client_for(port(), san_wins), "orders");
  ASSERT_FALSE(by_san.ok());
  EXPECT_EQ(by_san.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(by_san.error().message.find(kIntruderId), std::string::npos)
      << by_san.error().to_string();
}

TEST_F(KeybrokerMtlsTest, AClientWithoutCertificateIsRejected) {
  const std::string reason = "peer did not return a certificate";
  const size_t before = occurrences(daemon_->log(), reason);
  auto client = world_->client_with(port(), "", "");
  auto r = lease(*client, "orders", topic());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
  expect_broker_logged(reason, before);
}

TEST_F(KeybrokerMtlsTest, ACertificateFromAnotherCaIsRejected) {
  const std::string reason = "certificate verify failed";
  const size_t before = occurrences(daemon_->log(), reason);
  auto client = world_->client(port(), kProxyId, &world_->other_ca());
  auto r = lease(*client, "orders", topic());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
  expect_broker_logged(reason, before);
}

// Sends `bytes` on a fresh TCP connection and waits until the broker closes it (or 5 s pass).
// Returns true when the broker hung up.
bool broker_hangs_up_on(int port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return false;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  char buf[4096];
  bool closed = false;
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
      closed = true;  // EOF or reset
      break;
    }
    if (n < 0) {
      break;  // timed out with the connection still open
    }
  }
  ::close(fd);
  return closed;
}

// Hostile callers (garbage instead of a TLS handshake, no client certificate, a certificate of
// another CA) are refused while a legitimate client keeps leasing on its own connection, and
// the daemon stays up for the next legitimate client.
TEST_F(KeybrokerMtlsTest, HostileCallersLeaveTheDaemonAndOtherClientsUnaffected) {
  auto good = world_->client(port(), kProxyId);
  ASSERT_TRUE(lease(*good, "orders", topic()).ok());

  std::string garbage(64 * 1024, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 7919) >> 3);
  // A TLS record header announcing a 16 KB handshake, then junk; and a plaintext HTTP/2 preface.
  std::string fake_hello = std::string("\x16\x03\x01\x40\x00\x01\x00\x3f\xfc", 9) + garbage;
  std::string h2_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + garbage;

  std::atomic<int> hung_up{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> attackers;
  for (int i = 0; i < 4; ++i) {
    attackers.emplace_back([&] {
      for (const std::string* bytes : {&garbage, &fake_hello, &h2_preface}) {
        if (broker_hangs_up_on(port(), *bytes)) ++hung_up;
      }
    });
    attackers.emplace_back([&] {
      auto no_cert = world_->client_with(port(), "", "");
      if (!lease(*no_cert, "orders", topic()).ok()) ++refused;
      auto foreign = world_->client(port(), kProxyId, &world_->other_ca());
      if (!lease(*foreign, "orders", topic()).ok()) ++refused;
    });
  }
  int good_leases = 0;
  for (int i = 0; i < 50; ++i) {
    auto r = lease(*good, "orders", topic());
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    good_leases += r.ok() ? 1 : 0;
  }
  for (auto& t : attackers) t.join();

  EXPECT_EQ(hung_up.load(), 12) << "the broker kept a garbage connection open";
  EXPECT_EQ(refused.load(), 8) << "a caller without a valid certificate got a DEK";
  EXPECT_EQ(good_leases, 50);
  auto fresh = world_->client(port(), kProxyId);
  EXPECT_TRUE(lease(*fresh, "orders", topic()).ok()) << "the daemon stopped serving; its log:\n"
                                                     << daemon_->log();
}

TEST_F(KeybrokerMtlsTest, AnExpiredCertificateIsRejected) {
  const std::string reason = "certificate verify failed";
  const size_t before = occurrences(daemon_->log(), reason);
  CertSpec expired;
  expired.valid_from = -48h;
  expired.valid_until = -24h;
  auto client = world_->client(port(), kProxyId, nullptr, expired);
  auto r = lease(*client, "orders", topic());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
  expect_broker_logged(reason, before);
}

TEST_F(KeybrokerMtlsTest, AnUnauthorizedIdentityIsDeniedAndAudited) {
  auto intruder = world_->client(port(), kIntruderId);
  auto r = lease(*intruder, "orders", topic());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().to_string();

  // The auditor may unwrap "orders" but not lease, and nothing under other KEKs.
  auto auditor = world_->client(port(), kAuditorId);
  auto no_lease = lease(*auditor, "orders", topic());
  ASSERT_FALSE(no_lease.ok());
  EXPECT_EQ(no_lease.error().code, ErrorCode::kPermissionDenied);
  auto proxy = world_->client(port(), kProxyId);
  auto secret = lease(*proxy, "secret-kek", topic());
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.error().code, ErrorCode::kPermissionDenied);

  auto lines = audit_lines(audit_path_, topic());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["identity"], kIntruderId);
  EXPECT_EQ(lines[0]["outcome"], "permission_denied");
  EXPECT_EQ(lines[0]["operation"], "lease");
  EXPECT_EQ(lines[1]["identity"], kAuditorId);
  EXPECT_EQ(lines[2]["kek_alias"], "secret-kek");
  EXPECT_EQ(lines[2]["outcome"], "permission_denied");
}

TEST_F(KeybrokerMtlsTest, EveryCallLeavesAParseableAuditLineWithoutKeyMaterial) {
  auto client = world_->client(port(), kProxyId);
  auto leased = lease(*client, "orders", topic());
  ASSERT_TRUE(leased.ok());
  auto unwrapped = unwrap(*client, leased->edek, topic());
  ASSERT_TRUE(unwrapped.ok());
  std::vector<uint8_t> garbage{3, 'a', 'b'};
  auto bad = unwrap(*client, garbage, topic());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);

  auto lines = audit_lines(audit_path_, topic());
  ASSERT_EQ(lines.size(), 3u);
  const std::string dek_id = dek::to_hex(leased->dek_id);
  const auto& l = lines[0];
  EXPECT_EQ(l["operation"], "lease");
  EXPECT_EQ(l["identity"], kProxyId);
  EXPECT_EQ(l["kek_alias"], "orders");
  EXPECT_EQ(l["kek_id"], "orders-kek");
  EXPECT_EQ(l["kek_version"], 1);
  EXPECT_EQ(l["dek_id"], dek_id);
  EXPECT_EQ(l["lease_number"], leased->lease_number);
  EXPECT_EQ(l["outcome"], "ok");
  EXPECT_TRUE(l["latency_ms"].is_number());
  std::string time = l["time"];
  EXPECT_EQ(time.size(), 24u) << time;  // 2026-11-28T11:32:36.123Z
  EXPECT_EQ(time.back(), 'Z');
  EXPECT_EQ(lines[1]["operation"], "unwrap");
  EXPECT_EQ(lines[1]["dek_id"], dek_id);
  EXPECT_EQ(lines[1]["outcome"], "ok");
  EXPECT_EQ(lines[2]["outcome"], "invalid_argument");

  std::ifstream in(audit_path_);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string all = buffer.str();
  EXPECT_EQ(all.find(dek::to_hex(leased->dek.view())), std::string::npos) << "DEK in audit log";
}

TEST_F(KeybrokerMtlsTest, AdminHttpServesMetricsLivenessAndReadiness) {
  auto client = world_->client(port(), kProxyId);
  auto leased = lease(*client, "orders", topic());
  ASSERT_TRUE(leased.ok());
  auto denied = lease(*world_->client(port(), kIntruderId), "orders", topic());
  ASSERT_FALSE(denied.ok());

  auto livez = testworld::http_get(admin_port_, "/livez");
  EXPECT_EQ(livez.rfind("HTTP/1.1 200", 0), 0u) << livez;
  auto readyz = testworld::http_get(admin_port_, "/readyz");
  EXPECT_EQ(readyz.rfind("HTTP/1.1 200", 0), 0u) << readyz;
  auto metrics = testworld::http_get(admin_port_, "/metrics");
  EXPECT_EQ(metrics.rfind("HTTP/1.1 200", 0), 0u) << metrics;
  for (const char* series :
       {"kenc_keybroker_requests_total{operation=\"lease\",outcome=\"ok\"}",
        "kenc_keybroker_requests_total{operation=\"lease\",outcome=\"permission_denied\"}",
        "kenc_keybroker_kms_calls_total{call=\"generate_dek\"}",
        "kenc_keybroker_leases_granted_total", "kenc_keybroker_request_seconds_bucket"}) {
    EXPECT_NE(metrics.find(series), std::string::npos) << "missing " << series << " in\n"
                                                       << metrics;
  }
}

// Each test below starts its own broker.
class KeybrokerDaemonTest : public ::testing::Test {
 protected:
  World world_;
};

TEST_F(KeybrokerDaemonTest, ARequestFailsWhenItsAuditLineCannotBeWritten) {
  int port = free_port();
  KeybrokerDaemon daemon(world_.dir(), "full", world_.config(port, "/dev/full"), port);
  ASSERT_EQ(daemon.start(), "");
  auto client = world_.client(port, kProxyId);
  auto r = lease(*client, "orders", "t");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
  EXPECT_NE(r.error().message.find("audit"), std::string::npos);
}

TEST_F(KeybrokerDaemonTest, SigtermStopsCleanlyAndARestartNeverReusesADek) {
  int port = free_port();
  auto audit = (world_.dir() / "restart.jsonl").string();
  auto config = world_.config(port, audit);
  std::vector<uint8_t> first_dek_id, first_edek;
  crypto::SecureBytes first_key;
  // One client across the restart: its channel reconnects by itself.
  auto c = world_.client(port, kProxyId, nullptr, {}, /*wait_for_ready=*/true);
  {
    KeybrokerDaemon daemon(world_.dir(), "restart", config, port);
    ASSERT_EQ(daemon.start(), "");
    auto l = lease(*c, "orders", "t");
    ASSERT_TRUE(l.ok()) << l.error().to_string();
    first_dek_id = l->dek_id;
    first_edek = l->edek;
    first_key = l->dek.clone();
    EXPECT_EQ(daemon.stop(), 0) << daemon.log();
    EXPECT_NE(daemon.log().find("shutting down"), std::string::npos);
  }
  // While the broker is down a call fails, retriably.
  auto down = lease(*c, "orders", "t");
  ASSERT_FALSE(down.ok());
  EXPECT_TRUE(down.error().code == ErrorCode::kUnavailable ||
              down.error().code == ErrorCode::kDeadlineExceeded)
      << down.error().to_string();
  KeybrokerDaemon again(world_.dir(), "restart2", config, port);
  ASSERT_EQ(again.start(), "");
  auto l = lease(*c, "orders", "t");
  ASSERT_TRUE(l.ok()) << l.error().to_string();
  EXPECT_NE(l->dek_id, first_dek_id);
  EXPECT_EQ(l->lease_number, 0u);
  // The old DEK still unwraps after the restart (from the KMS).
  auto old = unwrap(*c, first_edek, "t");
  ASSERT_TRUE(old.ok()) << old.error().to_string();
  EXPECT_TRUE(std::ranges::equal(old->dek.view(), first_key.view()));
}

TEST_F(KeybrokerDaemonTest, AKekRotatedFromTheCommandLineIsPickedUpWhileRunning) {
  int port = free_port();
  auto config = world_.config(port, (world_.dir() / "rotate.jsonl").string());
  const std::string deks = "deks:\n";
  config.replace(config.find(deks), deks.size(), deks + "  kek_refresh_interval: 200ms\n");
  KeybrokerDaemon daemon(world_.dir(), "rotate", config, port);
  ASSERT_EQ(daemon.start(), "");
  auto client = world_.client(port, kProxyId);
  auto before = lease(*client, "orders", "t");
  ASSERT_TRUE(before.ok()) << before.error().to_string();
  ASSERT_EQ(before->kek_version, 1u);

  auto [status, output] =
      run_keybroker({"--config", daemon.config_path().string(), "--rotate-kek", "orders-kek"});
  ASSERT_EQ(status, 0) << output;
  EXPECT_NE(output.find("KEK orders-kek is at version 2"), std::string::npos) << output;

  // The broker checks the KEK at most every 200 ms; poll until a lease shows the new version.
  Result<DekLease> after = make_error(ErrorCode::kInternal, "no lease yet");
  for (int i = 0; i < 100; ++i) {
    after = lease(*client, "orders", "t");
    if (!after.ok() || after->kek_version == 2) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_EQ(after->kek_version, 2u) << daemon.log();
  EXPECT_NE(after->dek_id, before->dek_id);
  EXPECT_EQ(after->lease_number, 0u);
  auto old = unwrap(*client, before->edek, "t");
  ASSERT_TRUE(old.ok()) << old.error().to_string();
  EXPECT_TRUE(std::ranges::equal(old->dek.view(), before->dek.view()));

  auto [bad_status, bad_output] =
      run_keybroker({"--config", daemon.config_path().string(), "--rotate-kek", "no-such-kek"});
  EXPECT_EQ(bad_status, 1);
  EXPECT_NE(bad_output.find("no KEK named 'no-such-kek'"), std::string::npos) << bad_output;
}

TEST_F(KeybrokerDaemonTest, CheckConfigNamesTheOffendingKey) {
  int port = free_port();
  auto good = world_.dir() / "good.yaml";
  std::ofstream(good) << world_.config(port, "-");
  auto [ok_status, ok_output] = check_config(good);
  EXPECT_EQ(ok_status, 0) << ok_output;
  EXPECT_NE(ok_output.find("configuration OK"), std::string::npos);

  auto typo = world_.dir() / "typo.yaml";
  std::ofstream(typo) << world_.config(port, "-", "unwrap_cache:\n  capacity: 10\n  tll: 5m\n");
  auto [typo_status, typo_output] = check_config(typo);
  EXPECT_EQ(typo_status, 1);
  EXPECT_NE(typo_output.find("unwrap_cache.tll"), std::string::npos) << typo_output;

  auto no_tls = world_.dir() / "notls.yaml";
  std::ofstream(no_tls) << "kms:\n  local:\n    key_file: " << world_.key_file()
                        << "\nauthorization: {}\n";
  auto [tls_status, tls_output] = check_config(no_tls);
  EXPECT_EQ(tls_status, 1);
  EXPECT_NE(tls_output.find("tls"), std::string::npos) << tls_output;

  auto vault = world_.dir() / "vault.yaml";
  std::ofstream(vault) << "insecure_plaintext_for_development: true\nkms:\n  type: vault\n"
                          "  vault: {address: 'http://127.0.0.1:1'}\nauthorization: {}\n";
  auto [vault_status, vault_output] = check_config(vault);
  EXPECT_EQ(vault_status, 1);
  // kms.type vault hands the section to the Vault backend's parser, which names its own keys.
  EXPECT_NE(vault_output.find("kms.vault.token_file"), std::string::npos) << vault_output;

  ::chmod(world_.key_file().c_str(), 0644);
  auto [perm_status, perm_output] = check_config(good);
  ::chmod(world_.key_file().c_str(), 0600);
  EXPECT_EQ(perm_status, 1);
  EXPECT_NE(perm_output.find("kms.local.key_file"), std::string::npos) << perm_output;
  EXPECT_NE(perm_output.find("chmod 600"), std::string::npos) << perm_output;
}

TEST_F(KeybrokerDaemonTest, PlaintextOnlyWithTheExplicitFlagAndLoudly) {
  int port = free_port();
  std::string config = "listen: 127.0.0.1:" + std::to_string(port) +
                       "\ninsecure_plaintext_for_development: true\n"
                       "kms:\n  local:\n    key_file: " +
                       world_.key_file() +
                       "\naudit:\n  path: '-'\n"
                       "authorization:\n  rules:\n    - identities: [insecure-plaintext]\n"
                       "      keks: ['*']\n      operations: [resolve]\n";
  KeybrokerDaemon daemon(world_.dir(), "plain", config, port);
  ASSERT_EQ(daemon.start(), "");
  KeyBrokerClientOptions options;
  options.target = "127.0.0.1:" + std::to_string(port);
  options.insecure_plaintext_for_development = true;
  auto client = KeyBrokerClient::create(options);
  ASSERT_TRUE(client.ok());
  auto r = resolve(**client, "orders-kek");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->kek_version, 1u);
  EXPECT_NE(daemon.log().find("INSECURE"), std::string::npos);
}

}  // namespace
}  // namespace kenc::keybroker::testing
