// VaultKms against a scripted loopback HTTP server: the request shapes it sends, and its
// retry, timeout and token (file / AppRole login, renewal, re-login) logic.
#include "keybroker/kms/vault/vault_kms.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "keybroker/kms/vault/base64.h"
#include "keybroker/kms/vault/tests/fake_http_server.h"

namespace kenc::keybroker::kms::vault {
namespace {

using testing::CannedResponse;
using testing::FakeHttpServer;
using testing::RecordedRequest;

std::string write_temp_file(const std::string& content) {
  char path[] = "/tmp/kenc-vault-test-XXXXXX";
  const int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << content;
  return path;
}

VaultConfig token_config(const FakeHttpServer& server, const std::string& token_file) {
  VaultConfig c;
  c.address = server.address();
  c.token_file = token_file;
  c.vault_namespace = "team-a";
  c.connect_timeout = std::chrono::milliseconds(500);
  c.request_timeout = std::chrono::milliseconds(500);
  c.max_retries = 2;
  c.initial_backoff = std::chrono::milliseconds(5);
  c.max_backoff = std::chrono::milliseconds(20);
  return c;
}

std::vector<uint8_t> dek_bytes() { return std::vector<uint8_t>(32, 0x5A); }
std::vector<uint8_t> wrapped_bytes() {
  return std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
}

CannedResponse datakey_answer(uint32_t version) {
  nlohmann::json body = {
      {"data",
       {{"plaintext", base64_encode(dek_bytes())},
        {"ciphertext", "vault:v" + std::to_string(version) + ":" + base64_encode(wrapped_bytes())},
        {"key_version", version}}}};
  return {200, body.dump()};
}

class VaultKmsTokenTest : public ::testing::Test {
 protected:
  void TearDown() override { ::unlink(token_file_.c_str()); }
  std::string token_file_ = write_temp_file("s.file-token\n");
};

TEST_F(VaultKmsTokenTest, DescribeKekSendsTokenAndNamespace) {
  FakeHttpServer server([](const RecordedRequest&) {
    return CannedResponse{200, R"({"data":{"latest_version":4,"type":"aes256-gcm96"}})"};
  });
  VaultKms kms(token_config(server, token_file_));
  auto info = kms.describe_kek("orders");
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->kek_id, "orders");
  EXPECT_EQ(info->latest_version, 4u);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/v1/transit/keys/orders");
  EXPECT_EQ(requests[0].headers.at("x-vault-token"), "s.file-token");
  EXPECT_EQ(requests[0].headers.at("x-vault-namespace"), "team-a");
}

TEST_F(VaultKmsTokenTest, GenerateThenUnwrapUsesTheVaultCiphertextForm) {
  FakeHttpServer server([](const RecordedRequest& r) {
    if (r.target == "/v1/transit/datakey/plaintext/orders") {
      return datakey_answer(3);
    }
    nlohmann::json body = {{"data", {{"plaintext", base64_encode(dek_bytes())}}}};
    return CannedResponse{200, body.dump()};
  });
  VaultKms kms(token_config(server, token_file_));
  auto dek = kms.generate_dek("orders");
  ASSERT_TRUE(dek.ok()) << dek.error().to_string();
  EXPECT_EQ(dek->kek_version, 3u);
  EXPECT_EQ(dek->wrapped, wrapped_bytes());
  EXPECT_EQ(std::vector<uint8_t>(dek->dek.view().begin(), dek->dek.view().end()), dek_bytes());

  auto unwrapped = kms.unwrap_dek("orders", 3, dek->wrapped);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.error().to_string();
  EXPECT_EQ(std::vector<uint8_t>(unwrapped->view().begin(), unwrapped->view().end()), dek_bytes());

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(requests[0].body), nlohmann::json({{"bits", 256}}));
  EXPECT_EQ(requests[1].target, "/v1/transit/decrypt/orders");
  EXPECT_EQ(nlohmann::json::parse(requests[1].body)["ciphertext"],
            "vault:v3:" + base64_encode(wrapped_bytes()));
}

TEST_F(VaultKmsTokenTest, KeyNamesAreEscapedAndSlashesRefused) {
  FakeHttpServer server([](const RecordedRequest&) {
    return CannedResponse{200, R"({"data":{"latest_version":1}})"};
  });
  VaultKms kms(token_config(server, token_file_));
  ASSERT_TRUE(kms.describe_kek("a b").ok());
  EXPECT_EQ(server.targets().back(), "GET /v1/transit/keys/a%20b");
  auto bad = kms.describe_kek("../sys");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(VaultKmsTokenTest, FinalErrorsAreNotRetried) {
  std::atomic<int> status{404};
  FakeHttpServer server([&](const RecordedRequest&) {
    // Transit's answer for a key that does not exist: 404 without message.
    return CannedResponse{status.load(),
                          status.load() == 404 ? R"({"errors":[]})" : R"({"errors":["nope"]})"};
  });
  VaultKms kms(token_config(server, token_file_));
  auto missing = kms.describe_kek("k");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  status = 403;
  auto denied = kms.generate_dek("k");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  status = 400;
  auto tampered = kms.unwrap_dek("k", 1, wrapped_bytes());
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(VaultKmsTokenTest, RetriesServerErrorsThenSucceeds) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const RecordedRequest&) {
    if (calls++ < 2) {
      return CannedResponse{503, R"({"errors":["Vault is sealed"]})"};
    }
    return CannedResponse{200, R"({"data":{"latest_version":2}})"};
  });
  VaultKms kms(token_config(server, token_file_));
  auto info = kms.describe_kek("k");
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(VaultKmsTokenTest, GivesUpAfterMaxRetriesAsUnavailable) {
  FakeHttpServer server([](const RecordedRequest&) { return CannedResponse{429, "{}"}; });
  VaultKms kms(token_config(server, token_file_));
  auto info = kms.describe_kek("k");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(server.requests().size(), 3u);  // 1 + max_retries
}

TEST_F(VaultKmsTokenTest, SlowAnswerIsDeadlineExceeded) {
  FakeHttpServer server([](const RecordedRequest&) {
    return CannedResponse{200, R"({"data":{"latest_version":1}})", std::chrono::milliseconds(800)};
  });
  auto config = token_config(server, token_file_);
  config.request_timeout = std::chrono::milliseconds(150);
  config.max_retries = 0;
  VaultKms kms(config);
  auto info = kms.describe_kek("k");
  ASSERT_FALSE(info.ok());
  // The answer would have been a success: getting this code proves the call did not wait for it.
  EXPECT_EQ(info.error().code, ErrorCode::kDeadlineExceeded) << info.error().to_string();
}

TEST_F(VaultKmsTokenTest, NothingListeningIsUnavailable) {
  std::string address;
  {
    FakeHttpServer gone([](const RecordedRequest&) { return CannedResponse{}; });
    address = gone.address();
  }
  VaultConfig config;
  config.address = address;
  config.token_file = token_file_;
  config.max_retries = 1;
  config.initial_backoff = std::chrono::milliseconds(5);
  config.max_backoff = std::chrono::milliseconds(5);
  VaultKms kms(config);
  auto dek = kms.generate_dek("k");
  ASSERT_FALSE(dek.ok());
  EXPECT_EQ(dek.error().code, ErrorCode::kUnavailable) << dek.error().to_string();
  EXPECT_EQ(kms.health().error().code, ErrorCode::kUnavailable);
}

TEST_F(VaultKmsTokenTest, MissingTokenFileIsPermissionDenied) {
  FakeHttpServer server([](const RecordedRequest&) { return CannedResponse{}; });
  VaultKms kms(token_config(server, "/nonexistent/kenc/token"));
  auto info = kms.describe_kek("k");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(VaultKmsTokenTest, Health) {
  std::atomic<int> status{200};
  FakeHttpServer server([&](const RecordedRequest&) {
    return CannedResponse{status.load(), "{}"};
  });
  VaultKms kms(token_config(server, token_file_));
  EXPECT_TRUE(kms.health().ok());
  EXPECT_EQ(server.targets().back(), "GET /v1/sys/health?standbyok=true&perfstandbyok=true");
  EXPECT_FALSE(server.requests().back().headers.contains("x-vault-token"));
  status = 503;
  EXPECT_EQ(kms.health().error().code, ErrorCode::kUnavailable);
  status = 501;
  EXPECT_EQ(kms.health().error().code, ErrorCode::kUnavailable);
}

// AppRole: a scripted server that hands out numbered tokens with a given lease.
class VaultKmsAppRoleTest : public ::testing::Test {
 protected:
  void TearDown() override { ::unlink(secret_file_.c_str()); }

  VaultConfig approle_config(const FakeHttpServer& server) {
    VaultConfig c;
    c.address = server.address();
    c.auth_method = VaultAuthMethod::kAppRole;
    c.role_id = "role-1";
    c.secret_id_file = secret_file_;
    c.max_retries = 1;
    c.initial_backoff = std::chrono::milliseconds(5);
    c.max_backoff = std::chrono::milliseconds(5);
    return c;
  }

  std::string secret_file_ = write_temp_file("secret-1\n");
};

// A 3 s lease: renewal is due after 2 s and the token expires after 3 s, so each 2.4 s pause
// lands in the renewal window with 0.4 s / 0.6 s to spare on a loaded machine.
TEST_F(VaultKmsAppRoleTest, LogsInRenewsAndLogsInAgainAtMaxTtl) {
  std::atomic<int> logins{0};
  std::atomic<int> renewals{0};
  FakeHttpServer server([&](const RecordedRequest& r) {
    if (r.target == "/v1/auth/approle/login") {
      const auto body = nlohmann::json::parse(r.body);
      if (body["role_id"] != "role-1" || body["secret_id"] != "secret-1") {
        return CannedResponse{400, R"({"errors":["invalid role or secret ID"]})"};
      }
      const std::string token = "s.login-" + std::to_string(++logins);
      return CannedResponse{200, R"({"auth":{"client_token":")" + token +
                                     R"(","lease_duration":3,"renewable":true}})"};
    }
    if (r.target == "/v1/auth/token/renew-self") {
      // First renewal extends the full lease, the second is capped by the max TTL.
      const int n = ++renewals;
      const std::string token = r.headers.at("x-vault-token");
      return CannedResponse{200, R"({"auth":{"client_token":")" + token + R"(","lease_duration":)" +
                                     (n == 1 ? "3" : "0") + R"(,"renewable":true}})"};
    }
    return CannedResponse{200, R"({"data":{"latest_version":1}})"};
  });
  VaultKms kms(approle_config(server));

  ASSERT_TRUE(kms.describe_kek("k").ok());  // login 1
  ASSERT_TRUE(kms.describe_kek("k").ok());  // same token
  std::this_thread::sleep_for(std::chrono::milliseconds(2400));
  ASSERT_TRUE(kms.describe_kek("k").ok());  // renewal 1 (full lease)
  std::this_thread::sleep_for(std::chrono::milliseconds(2400));
  ASSERT_TRUE(kms.describe_kek("k").ok());  // renewal 2 is capped -> login 2

  EXPECT_EQ(logins.load(), 2);
  EXPECT_EQ(renewals.load(), 2);
  const auto requests = server.requests();
  std::vector<std::string> used_tokens;
  for (const auto& r : requests) {
    if (r.target == "/v1/transit/keys/k") {
      used_tokens.push_back(r.headers.at("x-vault-token"));
    }
  }
  EXPECT_EQ(used_tokens,
            (std::vector<std::string>{"s.login-1", "s.login-1", "s.login-1", "s.login-2"}));
  EXPECT_FALSE(requests.front().headers.contains("x-vault-token"));  // login is unauthenticated
}

TEST_F(VaultKmsAppRoleTest, RefusedTokenTriggersOneFreshLogin) {
  std::atomic<int> logins{0};
  FakeHttpServer server([&](const RecordedRequest& r) {
    if (r.target == "/v1/auth/approle/login") {
      const std::string token = "s.login-" + std::to_string(++logins);
      return CannedResponse{200,
                            R"({"auth":{"client_token":")" + token + R"(","lease_duration":600}})"};
    }
    if (r.headers.at("x-vault-token") == "s.login-1") {
      return CannedResponse{403, R"({"errors":["permission denied"]})"};
    }
    return CannedResponse{200, R"({"data":{"latest_version":9}})"};
  });
  VaultKms kms(approle_config(server));
  auto info = kms.describe_kek("k");
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->latest_version, 9u);
  EXPECT_EQ(logins.load(), 2);
}

TEST_F(VaultKmsAppRoleTest, BadSecretIdIsPermissionDenied) {
  FakeHttpServer server([](const RecordedRequest&) {
    return CannedResponse{403, R"({"errors":["invalid role or secret ID"]})"};
  });
  VaultKms kms(approle_config(server));
  auto info = kms.describe_kek("k");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(info.error().message.find("secret-1"), std::string::npos);
}

TEST_F(VaultKmsAppRoleTest, ConcurrentCallsShareOneLogin) {
  std::atomic<int> logins{0};
  FakeHttpServer server([&](const RecordedRequest& r) {
    if (r.target == "/v1/auth/approle/login") {
      ++logins;
      return CannedResponse{200, R"({"auth":{"client_token":"s.t","lease_duration":600}})"};
    }
    return datakey_answer(1);
  });
  VaultKms kms(approle_config(server));
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) {
        ok += kms.generate_dek("k").ok() ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 20);
  EXPECT_EQ(logins.load(), 1);
}

}  // namespace
}  // namespace kenc::keybroker::kms::vault
