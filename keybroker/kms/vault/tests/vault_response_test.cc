#include "keybroker/kms/vault/vault_response.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keybroker/kms/vault/base64.h"

namespace kenc::keybroker::kms::vault {
namespace {

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

TEST(VaultResponse, ErrorMessages) {
  EXPECT_EQ(parse_error_messages(R"({"errors":["permission denied"]})"),
            std::vector<std::string>{"permission denied"});
  EXPECT_EQ(parse_error_messages(R"({"errors":["a", 3, "b"]})"),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(parse_error_messages("").empty());
  EXPECT_TRUE(parse_error_messages("<html>bad gateway</html>").empty());
  EXPECT_TRUE(parse_error_messages(R"({"errors":"not a list"})").empty());
  EXPECT_TRUE(parse_error_messages(R"([1,2])").empty());
}

TEST(VaultResponse, KeyMetadata) {
  auto meta = parse_key_metadata(
      R"({"data":{"latest_version":3,"min_decryption_version":1,"type":"aes256-gcm96",
         "keys":{"1":1700000000,"2":1700000001,"3":1700000002}}})");
  ASSERT_TRUE(meta.ok()) << meta.error().to_string();
  EXPECT_EQ(meta->latest_version, 3u);
  EXPECT_EQ(meta->min_decryption_version, 1u);
  EXPECT_EQ(meta->type, "aes256-gcm96");
}

TEST(VaultResponse, KeyMetadataRejectsBadVersions) {
  for (std::string_view body :
       {R"({"data":{}})", R"({"data":{"latest_version":0}})", R"({"data":{"latest_version":-1}})",
        R"({"data":{"latest_version":"3"}})", R"({"data":{"latest_version":4294967296}})",
        R"({"data":{"latest_version":1.5}})", R"({"data":[]})", R"(null)", "{", ""}) {
    auto meta = parse_key_metadata(body);
    EXPECT_FALSE(meta.ok()) << body;
    if (!meta.ok()) {
      EXPECT_EQ(meta.error().code, ErrorCode::kInternal);
    }
  }
}

TEST(VaultResponse, DataKey) {
  const std::vector<uint8_t> dek(32, 0xAB);
  const std::vector<uint8_t> wrapped = bytes_of("nonce-ciphertext-tag");
  const std::string body = R"({"data":{"plaintext":")" + base64_encode(dek) +
                           R"(","ciphertext":"vault:v2:)" + base64_encode(wrapped) +
                           R"(","key_version":2}})";
  auto key = parse_datakey(body);
  ASSERT_TRUE(key.ok()) << key.error().to_string();
  EXPECT_EQ(std::vector<uint8_t>(key->plaintext.view().begin(), key->plaintext.view().end()), dek);
  EXPECT_EQ(key->key_version, 2u);
  EXPECT_EQ(key->ciphertext, "vault:v2:" + base64_encode(wrapped));
}

TEST(VaultResponse, DataKeyWithoutKeyVersionTakesItFromTheCiphertext) {
  auto key = parse_datakey(R"({"data":{"plaintext":"AAAA","ciphertext":"vault:v7:AAAA"}})");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->key_version, 7u);
}

TEST(VaultResponse, DataKeyRejectsMissingOrBadFields) {
  for (std::string_view body :
       {R"({"data":{"ciphertext":"vault:v1:AAAA","key_version":1}})",
        R"({"data":{"plaintext":"not base64!","ciphertext":"vault:v1:AAAA","key_version":1}})",
        R"({"data":{"plaintext":"AAAA","key_version":1}})",
        R"({"data":{"plaintext":"AAAA","ciphertext":7,"key_version":1}})",
        R"({"data":{"plaintext":"AAAA","ciphertext":"garbage"}})", R"({"data":"x"})", "[]"}) {
    EXPECT_FALSE(parse_datakey(body).ok()) << body;
  }
}

TEST(VaultResponse, Decrypt) {
  auto plain = parse_decrypt(R"({"data":{"plaintext":"Zm9vYmFy"}})");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(std::vector<uint8_t>(plain->view().begin(), plain->view().end()), bytes_of("foobar"));
  EXPECT_FALSE(parse_decrypt(R"({"data":{}})").ok());
  EXPECT_FALSE(parse_decrypt(R"({"data":{"plaintext":null}})").ok());
  EXPECT_FALSE(parse_decrypt(R"({"errors":[]})").ok());
}

TEST(VaultResponse, Auth) {
  auto lease = parse_auth(
      R"({"auth":{"client_token":"s.abc","lease_duration":30,"renewable":true,"policies":["p"]}})");
  ASSERT_TRUE(lease.ok()) << lease.error().to_string();
  EXPECT_EQ(lease->client_token, "s.abc");
  EXPECT_EQ(lease->lease_duration_s, 30);
  EXPECT_TRUE(lease->renewable);

  EXPECT_FALSE(parse_auth(R"({"auth":null})").ok());
  EXPECT_FALSE(parse_auth(R"({"auth":{"client_token":"","lease_duration":3}})").ok());
  EXPECT_FALSE(parse_auth(R"({"auth":{"client_token":"t","lease_duration":-3}})").ok());
  EXPECT_FALSE(parse_auth(R"({"auth":{"client_token":"t"}})").ok());
}

TEST(VaultResponse, AuthErrorsNeverEchoTheToken) {
  auto lease = parse_auth(R"({"auth":{"client_token":"s.secret-token","lease_duration":"x"}})");
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.error().message.find("s.secret-token"), std::string::npos);
}

TEST(VaultResponse, CiphertextRoundTrip) {
  const std::vector<uint8_t> wrapped = bytes_of("0123456789abcdef0123456789abcdef");
  const std::string text = format_vault_ciphertext(12, wrapped);
  EXPECT_TRUE(text.starts_with("vault:v12:"));
  auto parsed = parse_vault_ciphertext(text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->version, 12u);
  EXPECT_EQ(parsed->bytes, wrapped);
}

TEST(VaultResponse, CiphertextRejectsMalformed) {
  for (std::string_view bad :
       {"", "vault:", "vault:v", "vault:v1", "vault:v:AAAA", "vault:v0:AAAA", "vault:vx:AAAA",
        "vault:v1x:AAAA", "vault:v-1:AAAA", "vault:v99999999999:AAAA", "vault:v1:", "vault:v1:***",
        "other:v1:AAAA"}) {
    EXPECT_FALSE(parse_vault_ciphertext(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace kenc::keybroker::kms::vault
