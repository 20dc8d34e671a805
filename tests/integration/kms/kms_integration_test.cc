// Against a real Vault-API server from the test world (tests/world/kms): Transit over plain
// HTTP from C++ (part A) and the VaultKms backend (part B).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "keybroker/kms/vault/base64.h"
#include "keybroker/kms/vault/vault_kms.h"
#include "tests/world/kms/openbao_server.h"

namespace kenc {
namespace {

using keybroker::kms::vault::VaultAuthMethod;
using keybroker::kms::vault::VaultConfig;
using keybroker::kms::vault::VaultKms;
using testworld::OpenBaoEnvironment;
using testworld::OpenBaoServer;

OpenBaoServer& bao() { return OpenBaoEnvironment::server(); }

// Every test needs the server: without it, each one fails with the reason.
class TransitHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(OpenBaoEnvironment::ready()) << OpenBaoEnvironment::failure();
  }
};
class VaultKmsReal : public TransitHttp {};

std::string write_file(const std::string& name, const std::string& content) {
  const std::string path = bao().run_dir() + "/" + name;
  std::ofstream(path) << content << "\n";
  return path;
}

nlohmann::json json_of(const OpenBaoServer::Reply& reply) {
  return nlohmann::json::parse(reply.body, nullptr, false);
}

VaultConfig root_config() {
  VaultConfig c;
  c.address = bao().address();
  c.token_file = write_file("root-token", bao().root_token());
  c.request_timeout = std::chrono::milliseconds(1000);
  c.connect_timeout = std::chrono::milliseconds(500);
  c.max_retries = 2;
  c.initial_backoff = std::chrono::milliseconds(50);
  c.max_backoff = std::chrono::milliseconds(200);
  return c;
}

TEST_F(TransitHttp, DatakeyDecryptsBackAndSurvivesRotation) {
  ASSERT_TRUE(bao().create_key("http-key").ok());
  auto datakey = bao().call("POST", "transit/datakey/plaintext/http-key", R"({"bits":256})");
  ASSERT_TRUE(datakey.ok()) << datakey.error().to_string();
  ASSERT_EQ(datakey->status, 200) << datakey->body;
  const auto dk = json_of(*datakey);
  const std::string plaintext = dk["data"]["plaintext"];
  const std::string ciphertext = dk["data"]["ciphertext"];
  EXPECT_TRUE(ciphertext.starts_with("vault:v1:"));
  EXPECT_EQ(keybroker::kms::vault::base64_decode(plaintext)->size(), 32u);

  auto decrypt = [&] {
    return bao().call("POST", "transit/decrypt/http-key",
                      nlohmann::json{{"ciphertext", ciphertext}}.dump());
  };
  auto first = decrypt();
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(json_of(*first)["data"]["plaintext"], plaintext);

  ASSERT_TRUE(bao().rotate_key("http-key").ok());
  auto after_rotation = decrypt();
  ASSERT_TRUE(after_rotation.ok());
  ASSERT_EQ(after_rotation->status, 200) << after_rotation->body;
  EXPECT_EQ(json_of(*after_rotation)["data"]["plaintext"], plaintext);
}

TEST_F(TransitHttp, DatakeyUnderMissingKeyIsVaultsError) {
  auto reply = bao().call("POST", "transit/datakey/plaintext/no-such-key", R"({"bits":256})");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 400);
  EXPECT_NE(reply->body.find("encryption key not found"), std::string::npos) << reply->body;
}

TEST_F(VaultKmsReal, FullInterfaceAndRotation) {
  ASSERT_TRUE(bao().create_key("kms-key").ok());
  VaultKms kms(root_config());
  EXPECT_TRUE(kms.health().ok());
  auto info = kms.describe_kek("kms-key");
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->latest_version, 1u);
  auto dek = kms.generate_dek("kms-key");
  ASSERT_TRUE(dek.ok()) << dek.error().to_string();
  EXPECT_EQ(dek->kek_version, 1u);
  EXPECT_EQ(dek->dek.size(), 32u);

  ASSERT_TRUE(bao().rotate_key("kms-key").ok());
  EXPECT_EQ(kms.describe_kek("kms-key")->latest_version, 2u);
  auto newer = kms.generate_dek("kms-key");
  ASSERT_TRUE(newer.ok());
  EXPECT_EQ(newer->kek_version, 2u);

  auto old_unwrapped = kms.unwrap_dek("kms-key", 1, dek->wrapped);
  ASSERT_TRUE(old_unwrapped.ok()) << old_unwrapped.error().to_string();
  EXPECT_TRUE(std::equal(old_unwrapped->view().begin(), old_unwrapped->view().end(),
                         dek->dek.view().begin(), dek->dek.view().end()));

  auto tampered = dek->wrapped;
  tampered.back() ^= 1;
  auto bad = kms.unwrap_dek("kms-key", 1, tampered);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kDataLoss) << bad.error().to_string();
}

TEST_F(VaultKmsReal, UnknownKeyAndWrongToken) {
  VaultKms kms(root_config());
  EXPECT_EQ(kms.describe_kek("missing-key").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(kms.generate_dek("missing-key").error().code, ErrorCode::kNotFound);

  auto config = root_config();
  config.token_file = write_file("wrong-token", "not-a-token");
  VaultKms wrong(config);
  ASSERT_TRUE(bao().create_key("denied-key").ok());
  EXPECT_EQ(wrong.generate_dek("denied-key").error().code, ErrorCode::kPermissionDenied);
}

TEST_F(VaultKmsReal, PausedServerTimesOutThenRecovers) {
  ASSERT_TRUE(bao().create_key("pause-key").ok());
  auto config = root_config();
  config.request_timeout = std::chrono::milliseconds(300);
  config.max_retries = 1;
  VaultKms kms(config);
  ASSERT_TRUE(kms.describe_kek("pause-key").ok());
  bao().pause();
  auto during = kms.describe_kek("pause-key");
  bao().resume();
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.error().code, ErrorCode::kDeadlineExceeded) << during.error().to_string();
  EXPECT_TRUE(kms.describe_kek("pause-key").ok());
}

TEST_F(VaultKmsReal, AppRoleKeepsWorkingAcrossRenewalAndMaxTtl) {
  ASSERT_TRUE(bao().create_key("kenc-approle").ok());
  ASSERT_TRUE(bao()
                  .write_policy("kenc-broker", R"(
path "transit/keys/kenc-*" { capabilities = ["read"] }
path "transit/datakey/plaintext/kenc-*" { capabilities = ["update"] }
path "transit/decrypt/kenc-*" { capabilities = ["update"] }
)")
                  .ok());
  ASSERT_TRUE(bao().enable_approle().ok());
  auto ids = bao().create_approle("broker", {"kenc-broker"}, 3, 7);
  ASSERT_TRUE(ids.ok()) << ids.error().to_string();
  auto config = root_config();
  config.auth_method = VaultAuthMethod::kAppRole;
  config.role_id = ids->first;
  config.secret_id_file = write_file("secret-id", ids->second);
  VaultKms kms(config);
  // 12 s of calls: renewals every 2 s and at least one re-login at the 7 s max TTL.
  for (int i = 0; i < 24; ++i) {
    auto dek = kms.generate_dek("kenc-approle");
    ASSERT_TRUE(dek.ok()) << "call " << i << ": " << dek.error().to_string();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace
}  // namespace kenc

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::OpenBaoEnvironment());
  return RUN_ALL_TESTS();
}
