#include "keybroker/kms/vault/vault_config.h"

#include <set>

#include "common/config/config_error.h"

namespace kenc::keybroker::kms::vault {
namespace {

using config::ConfigError;

std::string join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string read_string(const YAML::Node& node, const std::string& prefix, const char* key,
                        const std::string& fallback, bool required) {
  const YAML::Node value = node[key];
  if (!value) {
    if (required) {
      throw ConfigError(join(prefix, key), "is required");
    }
    return fallback;
  }
  if (!value.IsScalar()) {
    throw ConfigError(join(prefix, key), "must be a string");
  }
  std::string text = value.as<std::string>();
  if (text.empty()) {
    throw ConfigError(join(prefix, key), "must not be empty");
  }
  return text;
}

long long read_int(const YAML::Node& node, const std::string& prefix, const char* key,
                   long long fallback, long long min, long long max) {
  const YAML::Node value = node[key];
  if (!value) {
    return fallback;
  }
  long long parsed = 0;
  if (!value.IsScalar() || !YAML::convert<long long>::decode(value, parsed)) {
    throw ConfigError(join(prefix, key), "must be an integer");
  }
  if (parsed < min || parsed > max) {
    throw ConfigError(join(prefix, key),
                      "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return parsed;
}

}  // namespace

const kenc::config::KeySchema& VaultConfig::config_keys() {
  static const kenc::config::KeySchema kSchema{
      {"",
       {"address", "auth_method", "token_file", "role_id", "secret_id_file", "approle_mount",
        "ca_file", "namespace", "transit_mount", "connect_timeout_ms", "request_timeout_ms",
        "max_retries", "initial_backoff_ms", "max_backoff_ms"}}};
  return kSchema;
}

VaultConfig VaultConfig::from_yaml(const YAML::Node& node, const std::string& key_prefix) {
  if (!node || !node.IsMap()) {
    throw ConfigError(key_prefix, "must be a mapping");
  }
  const auto& kKnown = config_keys().keys_under("");
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (!kKnown.contains(key)) {
      throw ConfigError(join(key_prefix, key), "unknown key");
    }
  }

  VaultConfig c;
  c.address = read_string(node, key_prefix, "address", "", true);
  if (!c.address.starts_with("http://") && !c.address.starts_with("https://")) {
    throw ConfigError(join(key_prefix, "address"), "must start with http:// or https://");
  }
  while (c.address.ends_with("/")) {
    c.address.pop_back();
  }

  const std::string method = read_string(node, key_prefix, "auth_method", "token", false);
  if (method == "token") {
    c.auth_method = VaultAuthMethod::kToken;
    c.token_file = read_string(node, key_prefix, "token_file", "", true);
  } else if (method == "approle") {
    c.auth_method = VaultAuthMethod::kAppRole;
    c.role_id = read_string(node, key_prefix, "role_id", "", true);
    c.secret_id_file = read_string(node, key_prefix, "secret_id_file", "", true);
    c.approle_mount = read_string(node, key_prefix, "approle_mount", c.approle_mount, false);
  } else {
    throw ConfigError(join(key_prefix, "auth_method"),
                      "must be 'token' or 'approle', not '" + method + "'");
  }
  c.ca_file = read_string(node, key_prefix, "ca_file", "", false);
  c.vault_namespace = read_string(node, key_prefix, "namespace", "", false);
  c.transit_mount = read_string(node, key_prefix, "transit_mount", c.transit_mount, false);
  while (c.transit_mount.ends_with("/")) {
    c.transit_mount.pop_back();
  }
  while (c.transit_mount.starts_with("/")) {
    c.transit_mount.erase(0, 1);
  }
  if (c.transit_mount.empty()) {
    throw ConfigError(join(key_prefix, "transit_mount"), "is empty");
  }

  c.connect_timeout = std::chrono::milliseconds(
      read_int(node, key_prefix, "connect_timeout_ms", c.connect_timeout.count(), 1, 600000));
  c.request_timeout = std::chrono::milliseconds(
      read_int(node, key_prefix, "request_timeout_ms", c.request_timeout.count(), 1, 600000));
  c.max_retries = static_cast<int>(read_int(node, key_prefix, "max_retries", c.max_retries, 0, 20));
  c.initial_backoff = std::chrono::milliseconds(
      read_int(node, key_prefix, "initial_backoff_ms", c.initial_backoff.count(), 1, 60000));
  c.max_backoff = std::chrono::milliseconds(
      read_int(node, key_prefix, "max_backoff_ms", c.max_backoff.count(), 1, 600000));
  if (c.max_backoff < c.initial_backoff) {
    throw ConfigError(join(key_prefix, "max_backoff_ms"), "must be >= initial_backoff_ms");
  }
  return c;
}

}  // namespace kenc::keybroker::kms::vault
