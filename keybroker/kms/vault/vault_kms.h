#pragma once

#include <chrono>
#include <mutex>
#include <random>
#include <string>

#include "keybroker/kms/kms.h"
#include "keybroker/kms/vault/http_client.h"
#include "keybroker/kms/vault/vault_config.h"
#include "keybroker/kms/vault/vault_error.h"

namespace kenc::keybroker::kms::vault {

// The Kms backed by HashiCorp Vault / OpenBao Transit over its HTTP API.
//
// Authentication: a token read from `token_file` (used as is; its lifetime is managed outside),
// or an AppRole login whose token is renewed (renew-self) after two thirds of its lease and
// replaced by a fresh login when renewal no longer extends it (max TTL reached), fails, or a
// call is refused with 403. The token is kept behind a mutex and never logged.
//
// Every call retries connection failures, timeouts, 429 and 5xx up to `max_retries` times with
// exponential backoff and full jitter; other answers are final. Thread-safe.
class VaultKms final : public Kms {
 public:
  explicit VaultKms(VaultConfig config);

  std::string name() const override { return "vault"; }
  Result<KekInfo> describe_kek(const std::string& kek_id) override;
  Result<GeneratedDek> generate_dek(const std::string& kek_id) override;
  Result<crypto::SecureBytes> unwrap_dek(const std::string& kek_id, uint32_t kek_version,
                                         std::span<const uint8_t> wrapped) override;
  Status health() override;

 private:
  using Clock = std::chrono::steady_clock;

  // An authenticated Transit call with retries; `path` is below /v1/.
  Result<HttpResponse> call(VaultOperation op, const std::string& method, const std::string& path,
                            const std::string& body);
  // One HTTP attempt (no retries) with the namespace header and, if given, the token.
  Result<HttpResponse> attempt(const std::string& method, const std::string& path,
                               const std::string& body, const std::string* token);
  std::chrono::milliseconds backoff(int retry);

  // The token to use now: reads the file, logs in, or renews as needed.
  Result<std::string> current_token();
  Status login_locked();
  Status renew_locked();
  void forget_token();
  std::string transit_path(const char* op, const std::string& kek_id) const;

  const VaultConfig config_;

  std::mutex token_mu_;
  std::string token_;
  Clock::time_point renew_at_{};
  Clock::time_point expires_at_{};
  int64_t login_lease_s_ = 0;
  bool token_expires_ = false;

  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace kenc::keybroker::kms::vault
