#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <string>

#include "common/config/key_schema.h"

namespace kenc::keybroker::kms::vault {

enum class VaultAuthMethod { kToken, kAppRole };

// How the key broker reaches Vault / OpenBao Transit. Secrets (the token, the AppRole
// secret_id) are read from files so that they never sit in the YAML or on a command line.
struct VaultConfig {
  std::string address;  // "http://127.0.0.1:8200" or "https://vault.example:8200"
  VaultAuthMethod auth_method = VaultAuthMethod::kToken;
  std::string token_file;      // auth_method token
  std::string role_id;         // auth_method approle
  std::string secret_id_file;  // auth_method approle
  std::string approle_mount = "approle";
  std::string ca_file;          // PEM bundle trusted for https; empty = system trust store
  std::string vault_namespace;  // sent as X-Vault-Namespace when not empty
  std::string transit_mount = "transit";
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{5000};  // per HTTP attempt
  int max_retries = 3;                              // extra attempts after the first
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};

  // Reads the mapping at `node`; key names in errors are prefixed with `key_prefix` (e.g.
  // "kms.vault"). Throws config::ConfigError naming the key for a missing, unknown or
  // invalid value. Files are not opened here (they are read at login, so they can rotate).
  static VaultConfig from_yaml(const YAML::Node& node, const std::string& key_prefix);
  // The keys from_yaml accepts, for the configuration reference check.
  static const kenc::config::KeySchema& config_keys();
};

}  // namespace kenc::keybroker::kms::vault
