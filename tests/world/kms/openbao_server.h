#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/base/result.h"

namespace kenc::testworld {

// A real OpenBao server in dev mode on 127.0.0.1 with Transit mounted at `transit/`. The
// release binary comes from tools/openbao/fetch-openbao.sh (cached at ${KENC_WORLD_DIR}/bin/bao).
// Logs go to ${KENC_WORLD_DIR}/runs/kms-<pid>-<n>/ and are kept when a test failed.
//
// Dev mode keeps everything in memory: stop() + start() loses keys. Outage tests use pause() /
// resume() (SIGSTOP / SIGCONT: the port stays open, calls time out), or `persistent`.
struct OpenBaoOptions {
  bool tls = false;  // -dev-tls; the CA is ca_file()
  // A real (non-dev) server with integrated (raft) storage in the run folder, initialised with one
  // unseal key on the first start() and unsealed on every start(): stop() + start() is a real
  // restart on the same port that keeps Transit keys. The root token is the one init returned. No
  // TLS.
  bool persistent = false;
  std::string root_token = "kenc-test-root";
};

class OpenBaoServer {
 public:
  explicit OpenBaoServer(OpenBaoOptions options = {});
  ~OpenBaoServer();
  OpenBaoServer(const OpenBaoServer&) = delete;
  OpenBaoServer& operator=(const OpenBaoServer&) = delete;

  // Builds the binary if needed, starts the server, waits for /v1/sys/health and mounts
  // transit. The error says what failed and where the logs are.
  Status start();
  void stop();
  void pause();
  void resume();
  void keep_logs() { keep_logs_ = true; }

  std::string address() const;  // http(s)://127.0.0.1:<port>
  const std::string& root_token() const { return options_.root_token; }
  std::string ca_file() const;  // only with tls
  const std::string& run_dir() const { return run_dir_; }

  struct Reply {
    long status = 0;
    std::string body;
  };
  // One HTTP call to /v1/<path> with the given token (the root token by default).
  Result<Reply> call(const std::string& method, const std::string& path,
                     const std::string& json_body = "", const std::string* token = nullptr,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

  Status create_key(const std::string& name, const std::string& type = "aes256-gcm96");
  Status rotate_key(const std::string& name);
  Status write_policy(const std::string& name, const std::string& hcl);
  Status enable_approle();
  // Creates an AppRole role and returns (role_id, secret_id).
  Result<std::pair<std::string, std::string>> create_approle(
      const std::string& role, const std::vector<std::string>& policies, int token_ttl_s,
      int token_max_ttl_s);
  // Creates a token with the given policies (no default policy).
  Result<std::string> create_token(const std::vector<std::string>& policies);

 private:
  Status expect_ok(const Result<Reply>& reply, const std::string& what);
  Status init_and_unseal();  // persistent mode

  OpenBaoOptions options_;
  std::string run_dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool keep_logs_ = false;
  std::string unseal_key_;        // persistent mode, after the first init
  bool transit_mounted_ = false;  // persistent mode: the mount survives restarts
};

// Runs tools/openbao/fetch-openbao.sh into ${KENC_WORLD_DIR} and returns the binary's path, or
// an error with the end of its log.
Result<std::string> ensure_kms_binary();

// One server per test binary: register with ::testing::AddGlobalTestEnvironment. A server that
// cannot be built or started is a failure of SetUp and of every test (their fixtures check
// ready() and fail with failure()), never a skip.
class OpenBaoEnvironment : public ::testing::Environment {
 public:
  explicit OpenBaoEnvironment(OpenBaoOptions options = {});
  void SetUp() override;
  void TearDown() override;
  static OpenBaoServer& server();
  // Whether SetUp started the server, and if not, why (for each test to fail with).
  static bool ready();
  static const std::string& failure();

 private:
  OpenBaoOptions options_;
};

}  // namespace kenc::testworld
