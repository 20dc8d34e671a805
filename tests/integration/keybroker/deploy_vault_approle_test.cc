// deploy/vault against a real OpenBao: setup-approle.sh (run with the real `bao` CLI) and its
// least-privilege policy give the real key broker, logging in by AppRole with exactly what the
// script produced, what it needs (lease and unwrap under KEK_* keys) and nothing more (no other
// keys, no export, no rotation).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <vector>

#include "proxy/keybroker_client/keybroker_client.h"
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

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string shell_quoted(const std::string& s) { return "'" + s + "'"; }

TEST(DeployVault, SetupApproleGivesTheKeyBrokerWhatItNeedsAndNothingMore) {
  ASSERT_TRUE(OpenBaoEnvironment::ready()) << OpenBaoEnvironment::failure();
  auto& bao = OpenBaoEnvironment::server();
  auto bao_cli = testworld::ensure_kms_binary();
  ASSERT_TRUE(bao_cli.ok()) << bao_cli.error().to_string();
  const std::string dir = bao.run_dir() + "/deploy-vault";
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(bao.create_key("KEK_deploy_orders").ok());
  ASSERT_TRUE(bao.create_key("outside-prefix").ok());

  // The operator's step, as deploy/README.md describes it.
  const std::string secret_id_file = dir + "/secret-id";
  const std::string setup_log = dir + "/setup-approle.log";
  const std::string command =
      "VAULT_ADDR=" + shell_quoted(bao.address()) +
      " VAULT_TOKEN=" + shell_quoted(bao.root_token()) + " VAULT_CLI=" + shell_quoted(*bao_cli) +
      " HOME=" + shell_quoted(dir) + " SECRET_ID_FILE=" + shell_quoted(secret_id_file) + " bash " +
      shell_quoted(std::string(KENC_SOURCE_DIR) + "/deploy/vault/setup-approle.sh") + " > " +
      shell_quoted(setup_log) + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << read_all(setup_log);
  std::smatch m;
  const std::string setup_output = read_all(setup_log);
  ASSERT_TRUE(std::regex_search(setup_output, m, std::regex("role_id: ([0-9a-f-]+)")))
      << setup_output;
  const std::string role_id = m[1];
  struct stat st {};
  ASSERT_EQ(::stat(secret_id_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the secret_id file must be private";

  // The key broker runs deploy/config/keybroker.yaml, the example for production, with this
  // machine's addresses and files put in, and the AppRole credentials the script produced. Its
  // own authorization is widened to every KEK, so what is refused below is refused by the Vault
  // policy.
  TestCa ca("kenc deploy-vault test CA");
  auto [server_cert, server_key] =
      ca.issue({"keybroker", "DNS:localhost,IP:127.0.0.1"}).write(dir, "server");
  auto [client_cert, client_key] =
      ca.issue({"proxy", "URI:spiffe://kenc/proxy/deploy"}).write(dir, "client");
  const std::string ca_file = dir + "/ca.crt";
  std::ofstream(ca_file) << ca.cert_pem();
  const int port = free_port();
  YAML::Node example =
      YAML::LoadFile(std::string(KENC_SOURCE_DIR) + "/deploy/config/keybroker.yaml");
  example["listen"] = "127.0.0.1:" + std::to_string(port);
  example["tls"]["ca_file"] = ca_file;
  example["tls"]["cert_file"] = server_cert;
  example["tls"]["key_file"] = server_key;
  YAML::Node vault = example["kms"]["vault"];
  ASSERT_EQ(vault["auth_method"].as<std::string>(), "approle");
  vault["address"] = bao.address();
  vault.remove("ca_file");  // the test server speaks plain HTTP
  vault["role_id"] = role_id;
  vault["secret_id_file"] = secret_id_file;
  example["audit"]["path"] = dir + "/audit.jsonl";
  example["admin"]["listen"] = "127.0.0.1:" + std::to_string(free_port());
  example["authorization"]["rules"][0]["keks"] = std::vector<std::string>{"*"};
  YAML::Emitter emitter;
  emitter << example;
  const std::string config = emitter.c_str();
  KeybrokerDaemon daemon(dir, "broker", config, port);
  ASSERT_EQ(daemon.start(), "");

  KeyBrokerClientOptions options;
  options.target = "127.0.0.1:" + std::to_string(port);
  options.ca_file = ca_file;
  options.cert_file = client_cert;
  options.key_file = client_key;
  options.deadline = 5s;
  auto client = KeyBrokerClient::create(options);
  ASSERT_TRUE(client.ok()) << client.error().to_string();
  auto lease = [&](const std::string& kek) {
    std::promise<Result<DekLease>> p;
    (*client)->lease_dek(kek, "orders", 0, [&](Result<DekLease> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };

  // Allowed: datakey and key metadata under KEK_*, decrypt of what it wrapped.
  auto granted = lease("KEK_deploy_orders");
  ASSERT_TRUE(granted.ok()) << granted.error().to_string() << "\n" << daemon.log();
  std::promise<Result<UnwrappedDek>> unwrapped;
  (*client)->unwrap_dek(granted->edek, "orders",
                        [&](Result<UnwrappedDek> r) { unwrapped.set_value(std::move(r)); });
  auto dek = unwrapped.get_future().get();
  ASSERT_TRUE(dek.ok()) << dek.error().to_string();
  EXPECT_TRUE(std::ranges::equal(dek->dek.view(), granted->dek.view()));

  // Refused by the policy: a key outside the KEK_ prefix.
  auto refused = lease("outside-prefix");
  EXPECT_FALSE(refused.ok()) << "the policy let the key broker use a key outside KEK_*";

  // The broker's token itself (an AppRole login with the same credentials) cannot export,
  // rotate or delete keys.
  const nlohmann::json login = {{"role_id", role_id}, {"secret_id", read_all(secret_id_file)}};
  auto logged_in = bao.call("POST", "auth/approle/login", login.dump());
  ASSERT_TRUE(logged_in.ok() && logged_in->status == 200) << logged_in->body;
  const std::string token = nlohmann::json::parse(logged_in->body)["auth"]["client_token"];
  auto read = bao.call("GET", "transit/keys/KEK_deploy_orders", "", &token);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->status, 200) << "the key broker must be able to read key metadata";
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "transit/export/encryption-key/KEK_deploy_orders"},
           {"POST", "transit/keys/KEK_deploy_orders/rotate"},
           {"POST", "transit/keys/KEK_deploy_orders/config"},
           {"DELETE", "transit/keys/KEK_deploy_orders"},
           {"GET", "transit/backup/KEK_deploy_orders"}}) {
    auto denied = bao.call(method, path, method == "POST" ? "{}" : "", &token);
    ASSERT_TRUE(denied.ok());
    EXPECT_EQ(denied->status, 403)
        << method << " " << path << " answered " << denied->status << ": " << denied->body;
  }
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace kenc::keybroker::testing
