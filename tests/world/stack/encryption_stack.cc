#include "tests/world/stack/encryption_stack.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/world/base/process.h"
#include "tests/world/kms/openbao_server.h"

namespace kenc::testworld {
namespace {

// `text` with every line indented by `spaces`, to nest a YAML block.
std::string indent(const std::string& text, int spaces) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    out += std::string(static_cast<size_t>(spaces), ' ') + line + "\n";
  }
  return out;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

}  // namespace

std::string EncryptionStack::Options::default_topics_yaml() {
  return "rules:\n"
         "  - prefix: \"enc-\"\n"
         "    kek: \"KEK_$(topicName)\"\n"
         "  - prefix: \"plain-\"\n"
         "    plaintext: true\n"
         "unmatched_topic: reject\n"
         "unresolved_kek: reject\n";
}

EncryptionStack::EncryptionStack(Options options) : options_(std::move(options)) {
  if (options_.proxies < 1) throw std::invalid_argument("EncryptionStack: proxies must be >= 1");
  if (options_.encryption && options_.kms == Kms::kVault && options_.openbao == nullptr) {
    throw std::invalid_argument("EncryptionStack: the Vault backend needs Options::openbao");
  }
  run_dir_ = std::make_unique<RunDir>(options_.label);

  // The key broker first: it starts in milliseconds, and a configuration mistake shows before
  // a Kafka JVM has been waited for.
  if (options_.encryption) {
    ca_ = std::make_unique<keybroker::testing::TestCa>("kenc stack CA");
    ca_file_ = run_dir_->file("ca.crt");
    std::ofstream(ca_file_) << ca_->cert_pem();
    std::tie(keybroker_cert_, keybroker_key_) =
        ca_->issue({"keybroker", "DNS:localhost,IP:127.0.0.1"}).write(dir(), "keybroker");
    key_file_ = run_dir_->file("keks.json");
    audit_path_ = run_dir_->file("keybroker-audit.jsonl");
    if (options_.kms == Kms::kVault) {
      token_file_ = run_dir_->file("vault-token");
      std::ofstream(token_file_) << options_.openbao->root_token() << "\n";
      ::chmod(token_file_.c_str(), 0600);
    }
    keybroker_admin_port_ = free_port();
    const int port = free_port();
    keybroker_ = std::make_unique<keybroker::testing::KeybrokerDaemon>(
        dir(), "keybroker", keybroker_config(port), port);
    if (auto error = keybroker_->start(); !error.empty()) {
      throw std::runtime_error("the key broker did not start: " + error);
    }
  }

  KafkaCluster::Options kafka = options_.kafka;
  if (kafka.label == "kafka") kafka.label = options_.label + "-kafka";
  kafka_ = std::make_unique<KafkaCluster>(kafka);

  const int brokers = static_cast<int>(kafka_->brokers().size());
  for (int i = 0; i < options_.proxies; ++i) {
    ProxyDaemon::Ports ports;
    ports.bootstrap = free_port_range(brokers);
    ports.broker_ports = brokers;
    ports.admin = free_port();
    std::ostringstream config;
    config << "worker_threads: " << options_.proxy_worker_threads << "\n"
           << "admin:\n  address: \"127.0.0.1:" << ports.admin << "\"\n"
           << "virtual_clusters:\n"
           << "  - name: " << options_.label << "\n"
           << "    upstream:\n      bootstrap_servers: [";
    for (int b = 0; b < brokers; ++b) {
      config << (b == 0 ? "" : ", ") << "\"127.0.0.1:" << kafka_->brokers()[b].port << "\"";
    }
    config << "]\n"
           << "    gateway:\n"
           << "      bootstrap: \"127.0.0.1:" << ports.bootstrap << "\"\n"
           << "      port_per_broker:\n"
           << "        node_id_min: " << kafka_->brokers().front().node_id << "\n"
           << "        node_id_max: " << kafka_->brokers().back().node_id << "\n";
    if (options_.encryption) {
      auto [cert, key] =
          ca_->issue({"proxy-" + std::to_string(i + 1),
                      "URI:" + proxy_identity(static_cast<size_t>(i)) + ",DNS:localhost"})
              .write(dir(), "proxy-" + std::to_string(i + 1) + "-client");
      config << "    encryption:\n"
             << "      key_broker:\n"
             << "        target: \"127.0.0.1:" << keybroker_->port() << "\"\n"
             << "        ca_file: " << quoted(ca_file_) << "\n"
             << "        cert_file: " << quoted(cert) << "\n"
             << "        key_file: " << quoted(key) << "\n"
             << "        deadline_ms: " << options_.key_broker_deadline_ms << "\n"
             << "      topics:\n"
             << indent(options_.topics_yaml, 8)
             << "      encrypt_headers: " << (options_.encrypt_headers ? "true" : "false") << "\n"
             << indent(options_.extra_encryption_yaml, 6);
    }
    proxy_configs_.push_back(config.str());
    proxies_.push_back(std::make_unique<ProxyDaemon>(dir(), "proxy-" + std::to_string(i + 1),
                                                     proxy_configs_.back(), ports));
    if (auto error = proxies_.back()->start(); !error.empty()) throw std::runtime_error(error);
  }
}

EncryptionStack::~EncryptionStack() {
  // Clients first meet the proxies: stop them before what they depend on.
  proxies_.clear();
  keybroker_.reset();
  kafka_.reset();
}

std::string EncryptionStack::keybroker_config(int port) const {
  std::string kms;
  if (options_.kms == Kms::kLocal) {
    kms = "kms:\n  type: local\n  local:\n    key_file: " + quoted(key_file_) +
          "\n    create_missing_keks: " + (options_.create_missing_keks ? "true" : "false") +
          "\n  call_timeout: 3s\n";
  } else {
    kms = "kms:\n  type: vault\n  call_timeout: 3s\n  vault:\n    address: " +
          options_.openbao->address() +
          "\n    auth_method: token\n    token_file: " + quoted(token_file_) + "\n";
  }
  return "listen: 127.0.0.1:" + std::to_string(port) + "\ntls:\n  ca_file: " + quoted(ca_file_) +
         "\n  cert_file: " + quoted(keybroker_cert_) + "\n  key_file: " + quoted(keybroker_key_) +
         "\n" + kms + "audit:\n  path: " + quoted(audit_path_) +
         "\nadmin:\n  listen: 127.0.0.1:" + std::to_string(keybroker_admin_port_) +
         "\nauthorization:\n  rules:\n"
         "    - identities: ['spiffe://kenc.test/stack/proxy/*']\n"
         "      keks: ['*']\n"
         "      operations: [lease, unwrap, resolve]\n" +
         options_.keybroker_extra_yaml;
}

keybroker::testing::KeybrokerDaemon& EncryptionStack::keybroker() {
  if (!keybroker_) throw std::logic_error("this EncryptionStack runs without a key broker");
  return *keybroker_;
}

std::string EncryptionStack::proxy_bootstrap(size_t index) const {
  return proxies_.at(index)->bootstrap();
}

std::string EncryptionStack::direct_bootstrap() const { return kafka_->bootstrap_servers(); }

std::string EncryptionStack::proxy_identity(size_t index) const {
  return "spiffe://kenc.test/stack/proxy/" + std::to_string(index + 1);
}

std::string EncryptionStack::proxy_config(size_t index) const { return proxy_configs_.at(index); }

void EncryptionStack::create_kek(const std::string& name) {
  if (!keybroker_) throw std::logic_error("this EncryptionStack runs without a key broker");
  if (options_.kms == Kms::kVault) {
    auto status = options_.openbao->create_key(name);
    if (!status.ok()) {
      throw std::runtime_error("cannot create Transit key " + name + ": " +
                               status.error().to_string());
    }
    return;
  }
  auto [code, output] = keybroker::testing::run_keybroker(
      {"--config", keybroker_->config_path().string(), "--create-kek", name});
  if (code != 0) throw std::runtime_error("kenc-keybroker --create-kek " + name + ": " + output);
}

std::string EncryptionStack::logs() const {
  std::string out;
  for (const auto& p : proxies_) out += "---- " + p->log_path() + "\n" + p->log_tail() + "\n";
  if (keybroker_) {
    out += "---- " + keybroker_->log_path().string() + "\n" +
           tail_file(keybroker_->log_path().string()) + "\n";
  }
  return out;
}

}  // namespace kenc::testworld
