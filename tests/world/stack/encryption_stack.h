#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/world/base/run_dir.h"
#include "tests/world/kafka/kafka_cluster.h"
#include "tests/world/keybroker/keybroker_daemon.h"
#include "tests/world/keybroker/test_pki.h"
#include "tests/world/stack/proxy_daemon.h"

namespace kenc::testworld {

class OpenBaoServer;

// The whole product on one machine, for end-to-end tests: a real Kafka cluster, the real
// kenc-keybroker daemon (local KMS, or the Vault backend against a real OpenBao) and one or more
// real kenc-proxy daemons in front of the cluster, each with its own mutual-TLS client
// certificate for the key broker. Built by the constructor (throws std::runtime_error with the
// failing component's log), torn down by the destructor. Every component can be stopped,
// killed and restarted on the same ports, for fault tests.
//
//   clients ──▶ proxy(i).bootstrap() ──▶ kafka().bootstrap_servers()
//                    └── mTLS gRPC ──▶ keybroker() ──▶ local key file | OpenBao Transit
class EncryptionStack {
 public:
  enum class Kms { kLocal, kVault };

  struct Options {
    std::string label = "stack";
    KafkaCluster::Options kafka;  // 1 broker by default
    int proxies = 1;
    int proxy_worker_threads = 2;
    // false: the proxies run without an `encryption:` block (pass-through) and no key broker
    // is started.
    bool encryption = true;

    Kms kms = Kms::kLocal;
    // Local KMS: create an unknown KEK id on first use (the zero-setup choice).
    bool create_missing_keks = true;
    // Vault backend: the server to use (e.g. &OpenBaoEnvironment::server()); the root token is
    // given to the broker. KEKs must exist there (create_kek()).
    OpenBaoServer* openbao = nullptr;
    // Appended to the key broker's configuration (e.g. "deks:\n  lease_size: 100\n").
    std::string keybroker_extra_yaml;

    // The `topics:` block of every proxy's encryption configuration (YAML, as under
    // `topics:`). The default encrypts `enc-*` under KEK_<topic>, leaves `plain-*` in
    // plaintext and rejects every other topic.
    std::string topics_yaml = default_topics_yaml();
    bool encrypt_headers = false;
    int key_broker_deadline_ms = 2000;
    // Extra keys of each virtual cluster's `encryption:` block, e.g. "dek_cache: {...}".
    std::string extra_encryption_yaml;

    static std::string default_topics_yaml();
  };

  explicit EncryptionStack(Options options);
  EncryptionStack() : EncryptionStack(Options{}) {}
  ~EncryptionStack();
  EncryptionStack(const EncryptionStack&) = delete;
  EncryptionStack& operator=(const EncryptionStack&) = delete;

  // Addresses clients are given.
  std::string proxy_bootstrap(size_t index = 0) const;
  // The brokers' own PLAINTEXT listeners, for a client that bypasses the proxy.
  std::string direct_bootstrap() const;

  KafkaCluster& kafka() { return *kafka_; }
  ProxyDaemon& proxy(size_t index = 0) { return *proxies_.at(index); }
  size_t proxy_count() const { return proxies_.size(); }
  // Only with encryption (else it throws std::logic_error).
  keybroker::testing::KeybrokerDaemon& keybroker();
  const std::string& keybroker_audit_path() const { return audit_path_; }
  // The key broker's admin port (/metrics, /livez, /readyz).
  int keybroker_admin_port() const { return keybroker_admin_port_; }
  // The identity (URI SAN) of proxy `index`'s client certificate.
  std::string proxy_identity(size_t index) const;
  const Options& options() const { return options_; }
  const std::string& dir() const { return run_dir_->path(); }

  // Makes KEK `name` exist in the KMS: with Vault, a Transit key; with the local KMS,
  // `kenc-keybroker --create-kek`. Throws on failure.
  void create_kek(const std::string& name);

  // The proxy's YAML for proxy `index` as the stack wrote it (for tests that change it and
  // call proxy(i).rewrite_config + restart).
  std::string proxy_config(size_t index) const;

  // The logs of every component (proxies, key broker), for failure messages.
  std::string logs() const;

 private:
  std::string keybroker_config(int port) const;

  Options options_;
  std::unique_ptr<RunDir> run_dir_;
  std::unique_ptr<KafkaCluster> kafka_;
  std::unique_ptr<keybroker::testing::TestCa> ca_;
  std::string ca_file_, keybroker_cert_, keybroker_key_, key_file_, token_file_, audit_path_;
  int keybroker_admin_port_ = 0;
  std::unique_ptr<keybroker::testing::KeybrokerDaemon> keybroker_;
  std::vector<std::string> proxy_configs_;
  std::vector<std::unique_ptr<ProxyDaemon>> proxies_;
};

}  // namespace kenc::testworld
