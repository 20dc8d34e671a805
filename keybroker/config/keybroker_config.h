#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <string>

#include "keybroker/auth/policy.h"
#include "keybroker/dek/dek_manager.h"

namespace kenc::keybroker::config {

struct TlsConfig {
  std::string ca_file, cert_file, key_file;
  // Contents, read while the configuration is loaded so a bad path is a configuration error.
  std::string ca_pem, cert_pem, key_pem;
};

struct LocalKmsConfig {
  std::string key_file;
  bool create_missing_keks = false;
};

// Assigned only while the configuration is read (at start-up), where an exception is the error
// path: YAML::Node's assignment is not noexcept.
struct KmsConfig {             // NOLINT(bugprone-exception-escape)
  std::string type = "local";  // "local" or "vault"
  LocalKmsConfig local;
  YAML::Node vault;  // handed as-is to the Vault backend's own parser
};

struct KeybrokerConfig {  // NOLINT(bugprone-exception-escape): holds a KmsConfig, above
  std::string listen = "127.0.0.1:9443";
  bool insecure_plaintext_for_development = false;
  TlsConfig tls;
  KmsConfig kms;
  // Alias -> KEK id. An alias that is not listed is the KEK id itself.
  std::map<std::string, std::string> kek_aliases;
  dek::DekPolicy deks;
  // Deadline for requests whose caller sets none.
  std::chrono::milliseconds default_deadline = std::chrono::seconds(5);
  std::string audit_path = "-";
  // Admin HTTP (/metrics, /livez, /readyz); off unless `admin.listen` is set.
  std::string admin_address;
  uint16_t admin_port = 0;
  auth::Policy policy;

  const std::string& kek_id_for(const std::string& alias) const;
  // Every name a KEK is known by: its id and the aliases that map to it.
  std::vector<std::string> names_of_kek(const std::string& kek_id) const;
};

// Validates a parsed YAML document. Throws kenc::config::ConfigError naming the key (as a
// dotted path) on any problem, including unknown keys, so a typo never silently falls back to
// a default.
KeybrokerConfig parse_keybroker_config(const YAML::Node& root);

// Parses "250ms", "30s", "5m", "24h". Throws ConfigError naming `key`.
std::chrono::milliseconds parse_duration(const std::string& key, const std::string& text);

}  // namespace kenc::keybroker::config
