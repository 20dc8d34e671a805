#include "keybroker/kms/vault/vault_kms.h"

#include <openssl/crypto.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "keybroker/kms/vault/vault_response.h"

namespace kenc::keybroker::kms::vault {
namespace {

constexpr size_t kDekBytes = 32;

void wipe(std::string& s) {
  if (!s.empty()) {
    OPENSSL_cleanse(s.data(), s.size());
  }
  s.clear();
}

// Reads a one-line secret (token, secret_id) and strips the trailing newline editors add.
Result<std::string> read_secret_file(const std::string& path, const char* what) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) {
    return make_error(ErrorCode::kPermissionDenied,
                      std::string("cannot read the Vault ") + what + " file " + path);
  }
  std::string secret;
  char chunk[256];
  for (size_t n; (n = std::fread(chunk, 1, sizeof chunk, file.get())) > 0;) {
    secret.append(chunk, n);
    if (secret.size() > size_t{64} * 1024) {
      break;  // a token file is tiny; do not slurp a wrong path
    }
  }
  OPENSSL_cleanse(chunk, sizeof chunk);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' ||
                             secret.back() == ' ' || secret.back() == '\t')) {
    secret.pop_back();
  }
  if (secret.empty()) {
    return make_error(ErrorCode::kPermissionDenied,
                      std::string("the Vault ") + what + " file " + path + " is empty");
  }
  return secret;
}

Status check_kek_id(const std::string& kek_id) {
  if (kek_id.empty() || kek_id.find('/') != std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument, "invalid Vault key name '" + kek_id + "'");
  }
  return {};
}

bool is_success(long status) { return status == 200 || status == 204; }

}  // namespace

VaultKms::VaultKms(VaultConfig config) : config_(std::move(config)), rng_(std::random_device{}()) {}

std::string VaultKms::transit_path(const char* op, const std::string& kek_id) const {
  return config_.transit_mount + "/" + op + "/" + escape_path_segment(kek_id);
}

std::chrono::milliseconds VaultKms::backoff(int retry) {
  auto ceiling = config_.initial_backoff.count();
  for (int i = 0; i < retry && ceiling < config_.max_backoff.count(); ++i) {
    ceiling *= 2;
  }
  ceiling = std::min<int64_t>(ceiling, config_.max_backoff.count());
  std::lock_guard lock(rng_mu_);
  // "Full jitter": a uniform delay up to the exponential ceiling spreads out retries of many
  // key brokers that all saw the same outage.
  std::uniform_int_distribution<int64_t> dist(ceiling / 2, ceiling);
  return std::chrono::milliseconds(dist(rng_));
}

Result<HttpResponse> VaultKms::attempt(const std::string& method, const std::string& path,
                                       const std::string& body, const std::string* token) {
  HttpRequest request;
  request.method = method;
  request.url = config_.address + "/v1/" + path;
  request.body = body;
  request.connect_timeout = config_.connect_timeout;
  request.total_timeout = config_.request_timeout;
  request.ca_file = config_.ca_file;
  if (token != nullptr) {
    request.headers.push_back("X-Vault-Token: " + *token);
  }
  if (!config_.vault_namespace.empty()) {
    request.headers.push_back("X-Vault-Namespace: " + config_.vault_namespace);
  }
  return perform_http(request);
}

Result<HttpResponse> VaultKms::call(VaultOperation op, const std::string& method,
                                    const std::string& path, const std::string& body) {
  bool relogged_in = false;
  for (int retry = 0;; ++retry) {
    if (retry > 0) {
      std::this_thread::sleep_for(backoff(retry - 1));
    }
    const bool last = retry >= config_.max_retries;

    auto token = current_token();
    if (!token.ok()) {
      const auto code = token.error().code;
      if (last || (code != ErrorCode::kUnavailable && code != ErrorCode::kDeadlineExceeded)) {
        return token.error();
      }
      continue;
    }
    auto response = attempt(method, path, body, &token.value());
    wipe(token.value());
    if (!response.ok()) {
      if (last) {
        return response.error();
      }
      continue;  // transport failures (unavailable, timeout) are worth another try
    }
    if (is_success(response->status)) {
      return response;
    }
    if (response->status == 403 && config_.auth_method == VaultAuthMethod::kAppRole &&
        !relogged_in) {
      // The token may have been revoked or expired early: log in once more and repeat.
      relogged_in = true;
      forget_token();
      --retry;
      continue;
    }
    if (last || !is_retriable_http_status(response->status)) {
      return error_from_http(op, response->status, response->body);
    }
  }
}

void VaultKms::forget_token() {
  std::lock_guard lock(token_mu_);
  wipe(token_);
}

Result<std::string> VaultKms::current_token() {
  std::lock_guard lock(token_mu_);
  if (config_.auth_method == VaultAuthMethod::kToken) {
    if (token_.empty()) {
      auto secret = read_secret_file(config_.token_file, "token");
      if (!secret.ok()) {
        return secret.error();
      }
      token_ = std::move(secret).value();
    }
    return token_;
  }
  const auto now = Clock::now();
  if (token_.empty() || (token_expires_ && now >= expires_at_)) {
    if (auto s = login_locked(); !s.ok()) {
      return s.error();
    }
  } else if (token_expires_ && now >= renew_at_) {
    if (auto s = renew_locked(); !s.ok()) {
      if (auto l = login_locked(); !l.ok()) {
        return l.error();
      }
    }
  }
  return token_;
}

Status VaultKms::login_locked() {
  wipe(token_);
  auto secret_id = read_secret_file(config_.secret_id_file, "AppRole secret_id");
  if (!secret_id.ok()) {
    return secret_id.error();
  }
  std::string body =
      nlohmann::json{{"role_id", config_.role_id}, {"secret_id", secret_id.value()}}.dump();
  wipe(secret_id.value());
  auto response = attempt("POST", "auth/" + config_.approle_mount + "/login", body, nullptr);
  wipe(body);
  if (!response.ok()) {
    return response.error();
  }
  if (!is_success(response->status)) {
    return error_from_http(VaultOperation::kLogin, response->status, response->body);
  }
  auto lease = parse_auth(response->body);
  if (!lease.ok()) {
    return lease.error();
  }
  const auto now = Clock::now();
  // Swapped, not moved: the lease's string is left holding the old (already wiped) token, and
  // nothing reads a moved-from string.
  token_.swap(lease->client_token);
  wipe(lease->client_token);
  login_lease_s_ = lease->lease_duration_s;
  token_expires_ = lease->lease_duration_s > 0;
  renew_at_ = now + std::chrono::milliseconds(lease->lease_duration_s * 2000 / 3);
  expires_at_ = now + std::chrono::seconds(lease->lease_duration_s);
  return {};
}

Status VaultKms::renew_locked() {
  auto response = attempt("POST", "auth/token/renew-self", "{}", &token_);
  if (!response.ok()) {
    return response.error();
  }
  if (!is_success(response->status)) {
    return error_from_http(VaultOperation::kRenew, response->status, response->body);
  }
  auto lease = parse_auth(response->body);
  if (!lease.ok()) {
    return lease.error();
  }
  // Near the max TTL Vault grants less than asked; once a renewal gives under three quarters
  // of the original lease, a fresh login is the only way to keep a long-lived token.
  if (lease->lease_duration_s * 4 < login_lease_s_ * 3) {
    return make_error(ErrorCode::kUnavailable, "token renewal capped by its max TTL");
  }
  const auto now = Clock::now();
  renew_at_ = now + std::chrono::milliseconds(lease->lease_duration_s * 2000 / 3);
  expires_at_ = now + std::chrono::seconds(lease->lease_duration_s);
  wipe(lease->client_token);
  return {};
}

Result<KekInfo> VaultKms::describe_kek(const std::string& kek_id) {
  if (auto s = check_kek_id(kek_id); !s.ok()) {
    return s.error();
  }
  auto response = call(VaultOperation::kReadKey, "GET", transit_path("keys", kek_id), "");
  if (!response.ok()) {
    return response.error();
  }
  auto meta = parse_key_metadata(response->body);
  if (!meta.ok()) {
    return meta.error();
  }
  return KekInfo{kek_id, meta->latest_version};
}

Result<GeneratedDek> VaultKms::generate_dek(const std::string& kek_id) {
  if (auto s = check_kek_id(kek_id); !s.ok()) {
    return s.error();
  }
  auto response = call(VaultOperation::kDataKey, "POST", transit_path("datakey/plaintext", kek_id),
                       R"({"bits":256})");
  if (!response.ok()) {
    return response.error();
  }
  auto key = parse_datakey(response->body);
  if (!key.ok()) {
    return key.error();
  }
  if (key->plaintext.size() != kDekBytes) {
    return make_error(ErrorCode::kInternal, "Vault returned a data key of " +
                                                std::to_string(key->plaintext.size()) + " bytes");
  }
  auto wrapped = parse_vault_ciphertext(key->ciphertext);
  if (!wrapped.ok()) {
    return wrapped.error();
  }
  if (wrapped->version != key->key_version) {
    return make_error(ErrorCode::kInternal, "Vault data key version disagrees with its ciphertext");
  }
  GeneratedDek dek;
  dek.dek = std::move(key->plaintext);
  dek.wrapped = std::move(wrapped->bytes);
  dek.kek_version = wrapped->version;
  return dek;
}

Result<crypto::SecureBytes> VaultKms::unwrap_dek(const std::string& kek_id, uint32_t kek_version,
                                                 std::span<const uint8_t> wrapped) {
  if (auto s = check_kek_id(kek_id); !s.ok()) {
    return s.error();
  }
  if (kek_version == 0 || wrapped.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "wrapped DEK needs a version and bytes");
  }
  const std::string body =
      nlohmann::json{{"ciphertext", format_vault_ciphertext(kek_version, wrapped)}}.dump();
  auto response = call(VaultOperation::kDecrypt, "POST", transit_path("decrypt", kek_id), body);
  if (!response.ok()) {
    return response.error();
  }
  auto plaintext = parse_decrypt(response->body);
  if (!plaintext.ok()) {
    return plaintext.error();
  }
  if (plaintext->size() != kDekBytes) {
    return make_error(ErrorCode::kDataLoss,
                      "unwrapped DEK has " + std::to_string(plaintext->size()) + " bytes");
  }
  return std::move(plaintext).value();
}

Status VaultKms::health() {
  // Unauthenticated; a standby node can still serve reads, so it counts as healthy.
  auto response = attempt("GET", "sys/health?standbyok=true&perfstandbyok=true", "", nullptr);
  if (!response.ok()) {
    return response.error();
  }
  if (response->status == 200) {
    return {};
  }
  if (response->status == 501) {
    return make_error(ErrorCode::kUnavailable, "Vault is not initialized");
  }
  return error_from_http(VaultOperation::kHealth, response->status, response->body);
}

}  // namespace kenc::keybroker::kms::vault
