#include "keybroker/kms/vault/vault_error.h"

#include <gtest/gtest.h>

namespace kenc::keybroker::kms::vault {
namespace {

ErrorCode code_of(VaultOperation op, long status, std::string_view body = "") {
  return error_from_http(op, status, body).code;
}

TEST(VaultError, MissingKeyIsNotFound) {
  EXPECT_EQ(code_of(VaultOperation::kReadKey, 404), ErrorCode::kNotFound);
  EXPECT_EQ(code_of(VaultOperation::kDataKey, 400, R"({"errors":["encryption key not found"]})"),
            ErrorCode::kNotFound);
  EXPECT_EQ(code_of(VaultOperation::kDecrypt, 400, R"({"errors":["encryption key not found"]})"),
            ErrorCode::kNotFound);
}

TEST(VaultError, AMissingMountIsNotAMissingKey) {
  // What OpenBao 2.7 answers when the configured mount path has no Transit engine behind it.
  const Error e = error_from_http(
      VaultOperation::kDataKey, 404,
      R"({"errors":["no handler for route \"transitx/datakey/plaintext/k\". route entry not found."]})");
  EXPECT_EQ(e.code, ErrorCode::kInternal);
  EXPECT_NE(e.message.find("mount path"), std::string::npos);
  EXPECT_EQ(code_of(VaultOperation::kReadKey, 404, R"({"errors":[]})"), ErrorCode::kNotFound);
}

TEST(VaultError, DeniedIsPermissionDenied) {
  EXPECT_EQ(code_of(VaultOperation::kDataKey, 403, R"({"errors":["permission denied"]})"),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(code_of(VaultOperation::kLogin, 403), ErrorCode::kPermissionDenied);
}

TEST(VaultError, SealedOverloadedAndServerErrorsAreUnavailable) {
  EXPECT_EQ(code_of(VaultOperation::kDecrypt, 503, R"({"errors":["Vault is sealed"]})"),
            ErrorCode::kUnavailable);
  EXPECT_EQ(code_of(VaultOperation::kDataKey, 429), ErrorCode::kUnavailable);
  EXPECT_EQ(code_of(VaultOperation::kDataKey, 500), ErrorCode::kUnavailable);
  EXPECT_EQ(code_of(VaultOperation::kDataKey, 502, "<html>"), ErrorCode::kUnavailable);
  EXPECT_TRUE(is_retriable_http_status(429));
  EXPECT_TRUE(is_retriable_http_status(503));
  EXPECT_FALSE(is_retriable_http_status(400));
  EXPECT_FALSE(is_retriable_http_status(403));
  EXPECT_FALSE(is_retriable_http_status(404));
}

TEST(VaultError, BadCiphertextOnDecryptIsDataLoss) {
  EXPECT_EQ(code_of(VaultOperation::kDecrypt, 400,
                    R"({"errors":["cipher: message authentication failed"]})"),
            ErrorCode::kDataLoss);
  EXPECT_EQ(code_of(VaultOperation::kDecrypt, 400,
                    R"({"errors":["invalid ciphertext: version is too new"]})"),
            ErrorCode::kDataLoss);
}

TEST(VaultError, OtherClientErrorsAreInvalidArgument) {
  EXPECT_EQ(code_of(VaultOperation::kDataKey, 400, R"({"errors":["invalid bits"]})"),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(VaultOperation::kOther, 405), ErrorCode::kInvalidArgument);
}

TEST(VaultError, MessageCarriesStatusAndVaultText) {
  const Error e = error_from_http(VaultOperation::kDataKey, 403,
                                  R"({"errors":["1 error occurred:","permission denied"]})");
  EXPECT_NE(e.message.find("403"), std::string::npos);
  EXPECT_NE(e.message.find("permission denied"), std::string::npos);
}

}  // namespace
}  // namespace kenc::keybroker::kms::vault
