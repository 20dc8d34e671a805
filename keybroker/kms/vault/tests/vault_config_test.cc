#include "keybroker/kms/vault/vault_config.h"

#include <gtest/gtest.h>

#include "common/config/config_error.h"

namespace kenc::keybroker::kms::vault {
namespace {

using config::ConfigError;

VaultConfig parse(const std::string& yaml) {
  return VaultConfig::from_yaml(YAML::Load(yaml), "kms.vault");
}

// Expects parsing to fail with a ConfigError naming `key`.
void expect_error(const std::string& yaml, const std::string& key) {
  try {
    parse(yaml);
    ADD_FAILURE() << "no error for:\n" << yaml;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), key) << e.what();
  }
}

TEST(VaultConfig, TokenAuthWithDefaults) {
  const auto c = parse("address: http://127.0.0.1:8200/\ntoken_file: /run/token\n");
  EXPECT_EQ(c.address, "http://127.0.0.1:8200");
  EXPECT_EQ(c.auth_method, VaultAuthMethod::kToken);
  EXPECT_EQ(c.token_file, "/run/token");
  EXPECT_EQ(c.transit_mount, "transit");
  EXPECT_EQ(c.connect_timeout.count(), 2000);
  EXPECT_EQ(c.request_timeout.count(), 5000);
  EXPECT_EQ(c.max_retries, 3);
  EXPECT_TRUE(c.ca_file.empty());
  EXPECT_TRUE(c.vault_namespace.empty());
}

TEST(VaultConfig, AppRoleWithEverything) {
  const auto c = parse(R"(
address: https://vault:8200
auth_method: approle
role_id: 1234-abcd
secret_id_file: /run/secret_id
approle_mount: kenc-approle
ca_file: /etc/ca.pem
namespace: team-a
transit_mount: /kms/transit/
connect_timeout_ms: 500
request_timeout_ms: 1500
max_retries: 5
initial_backoff_ms: 20
max_backoff_ms: 400
)");
  EXPECT_EQ(c.auth_method, VaultAuthMethod::kAppRole);
  EXPECT_EQ(c.role_id, "1234-abcd");
  EXPECT_EQ(c.secret_id_file, "/run/secret_id");
  EXPECT_EQ(c.approle_mount, "kenc-approle");
  EXPECT_EQ(c.ca_file, "/etc/ca.pem");
  EXPECT_EQ(c.vault_namespace, "team-a");
  EXPECT_EQ(c.transit_mount, "kms/transit");
  EXPECT_EQ(c.connect_timeout.count(), 500);
  EXPECT_EQ(c.request_timeout.count(), 1500);
  EXPECT_EQ(c.max_retries, 5);
  EXPECT_EQ(c.initial_backoff.count(), 20);
  EXPECT_EQ(c.max_backoff.count(), 400);
}

TEST(VaultConfig, ErrorsNameTheKey) {
  expect_error("token_file: /t\n", "kms.vault.address");
  expect_error("address: vault:8200\ntoken_file: /t\n", "kms.vault.address");
  expect_error("address: http://v\n", "kms.vault.token_file");
  expect_error("address: http://v\nauth_method: approle\nsecret_id_file: /s\n",
               "kms.vault.role_id");
  expect_error("address: http://v\nauth_method: approle\nrole_id: r\n", "kms.vault.secret_id_file");
  expect_error("address: http://v\nauth_method: kerberos\n", "kms.vault.auth_method");
  expect_error("address: http://v\ntoken_file: /t\nrequest_timeout_ms: fast\n",
               "kms.vault.request_timeout_ms");
  expect_error("address: http://v\ntoken_file: /t\nmax_retries: 99\n", "kms.vault.max_retries");
  expect_error("address: http://v\ntoken_file: /t\ninitial_backoff_ms: 500\nmax_backoff_ms: 100\n",
               "kms.vault.max_backoff_ms");
  expect_error("address: http://v\ntoken_file: /t\ntokn: x\n", "kms.vault.tokn");
  expect_error("address: [http://v]\ntoken_file: /t\n", "kms.vault.address");
  expect_error("address: http://v\ntoken_file: ''\n", "kms.vault.token_file");
}

TEST(VaultConfig, NodeMustBeAMapping) {
  try {
    VaultConfig::from_yaml(YAML::Load("- a\n- b\n"), "kms.vault");
    ADD_FAILURE() << "a list was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "kms.vault");
  }
}

}  // namespace
}  // namespace kenc::keybroker::kms::vault
