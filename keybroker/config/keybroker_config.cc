#include "keybroker/config/keybroker_config.h"

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "common/config/config_error.h"
#include "keybroker/config/keybroker_config_keys.h"

namespace kenc::keybroker::config {
namespace {

using kenc::config::ConfigError;

std::string join(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

void require_map(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) {
    throw ConfigError(path.empty() ? "(top level)" : path, "must be a mapping");
  }
}

// The accepted keys come from keybroker_config_keys(), the list docs/configuration.md is
// checked against, so the parser cannot accept a key the reference does not document.
void reject_unknown(const YAML::Node& node, const std::string& path) {
  const auto& known = keybroker_config_keys().keys_under(path);
  for (const auto& kv : node) {
    auto key = kv.first.as<std::string>();
    if (!known.contains(key)) {
      throw ConfigError(join(path, key), "unknown key");
    }
  }
}

template <typename T>
T scalar(const YAML::Node& node, const std::string& path, const char* what) {
  if (!node.IsScalar()) {
    throw ConfigError(path, std::string("must be ") + what);
  }
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw ConfigError(path, std::string("must be ") + what + ", not '" + node.Scalar() + "'");
  }
}

std::string string_at(const YAML::Node& node, const std::string& path) {
  auto s = scalar<std::string>(node, path, "a string");
  if (s.empty()) {
    throw ConfigError(path, "must not be empty");
  }
  return s;
}

uint64_t positive_at(const YAML::Node& node, const std::string& path) {
  if (node.IsScalar() && !node.Scalar().empty() && node.Scalar()[0] == '-') {
    throw ConfigError(path, "must be a positive integer");
  }
  auto v = scalar<uint64_t>(node, path, "a positive integer");
  if (v == 0) {
    throw ConfigError(path, "must be a positive integer");
  }
  return v;
}

std::chrono::milliseconds duration_at(const YAML::Node& node, const std::string& path) {
  return parse_duration(path, scalar<std::string>(node, path, "a duration like 30s"));
}

std::vector<std::string> string_list(const YAML::Node& node, const std::string& path) {
  if (!node.IsSequence() || node.size() == 0) {
    throw ConfigError(path, "must be a non-empty list of strings");
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) {
    out.push_back(string_at(node[i], path + "[" + std::to_string(i) + "]"));
  }
  return out;
}

std::string read_file(const std::string& path_key, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw ConfigError(path_key, "cannot read file '" + file + "'");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (buffer.str().empty()) {
    throw ConfigError(path_key, "file '" + file + "' is empty");
  }
  return buffer.str();
}

void parse_tls(const YAML::Node& node, TlsConfig& tls) {
  require_map(node, "tls");
  reject_unknown(node, "tls");
  for (auto [key, file, pem] : {std::tuple{"ca_file", &tls.ca_file, &tls.ca_pem},
                                std::tuple{"cert_file", &tls.cert_file, &tls.cert_pem},
                                std::tuple{"key_file", &tls.key_file, &tls.key_pem}}) {
    std::string path = std::string("tls.") + key;
    if (!node[key]) {
      throw ConfigError(path, "is required for mutual TLS");
    }
    *file = string_at(node[key], path);
    *pem = read_file(path, *file);
  }
}

void parse_kms(const YAML::Node& node, KmsConfig& kms, dek::DekPolicy& deks,
               std::chrono::milliseconds& default_deadline) {
  require_map(node, "kms");
  reject_unknown(node, "kms");
  if (node["type"]) {
    kms.type = string_at(node["type"], "kms.type");
  }
  if (node["threads"]) {
    deks.kms_threads = positive_at(node["threads"], "kms.threads");
  }
  if (node["call_timeout"]) {
    default_deadline = duration_at(node["call_timeout"], "kms.call_timeout");
  }
  if (kms.type == "local") {
    if (!node["local"]) {
      throw ConfigError("kms.local", "is required when kms.type is local");
    }
    const auto& local = node["local"];
    require_map(local, "kms.local");
    reject_unknown(local, "kms.local");
    if (!local["key_file"]) {
      throw ConfigError("kms.local.key_file", "is required");
    }
    kms.local.key_file = string_at(local["key_file"], "kms.local.key_file");
    if (local["create_missing_keks"]) {
      kms.local.create_missing_keks = scalar<bool>(
          local["create_missing_keks"], "kms.local.create_missing_keks", "true or false");
    }
  } else if (kms.type == "vault") {
    if (!node["vault"]) {
      throw ConfigError("kms.vault", "is required when kms.type is vault");
    }
    kms.vault = node["vault"];
  } else {
    throw ConfigError("kms.type", "must be 'local' or 'vault', not '" + kms.type + "'");
  }
}

void parse_deks(const YAML::Node& node, dek::DekPolicy& deks) {
  require_map(node, "deks");
  reject_unknown(node, "deks");
  if (node["max_encryptions_per_dek"]) {
    deks.max_encryptions_per_dek =
        positive_at(node["max_encryptions_per_dek"], "deks.max_encryptions_per_dek");
  }
  if (node["lease_size"]) {
    deks.lease_size = positive_at(node["lease_size"], "deks.lease_size");
  }
  if (deks.lease_size > deks.max_encryptions_per_dek) {
    throw ConfigError("deks.lease_size", "must not exceed deks.max_encryptions_per_dek");
  }
  if (node["max_dek_age"]) {
    deks.max_dek_age = duration_at(node["max_dek_age"], "deks.max_dek_age");
  }
  if (node["max_lease_duration"]) {
    deks.max_lease_duration = duration_at(node["max_lease_duration"], "deks.max_lease_duration");
  }
  if (node["kek_refresh_interval"]) {
    deks.kek_refresh_interval =
        duration_at(node["kek_refresh_interval"], "deks.kek_refresh_interval");
  }
}

void parse_unwrap_cache(const YAML::Node& node, dek::DekPolicy& deks) {
  require_map(node, "unwrap_cache");
  reject_unknown(node, "unwrap_cache");
  if (node["capacity"]) {
    deks.unwrap_cache_capacity =
        scalar<size_t>(node["capacity"], "unwrap_cache.capacity", "a non-negative integer");
  }
  if (node["ttl"]) {
    deks.unwrap_cache_ttl = duration_at(node["ttl"], "unwrap_cache.ttl");
  }
}

auth::Policy parse_authorization(const YAML::Node& node) {
  require_map(node, "authorization");
  reject_unknown(node, "authorization");
  std::vector<auth::Rule> rules;
  if (!node["rules"]) {
    return auth::Policy{};
  }
  const auto& list = node["rules"];
  if (!list.IsSequence()) {
    throw ConfigError("authorization.rules", "must be a list of rules");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = "authorization.rules[" + std::to_string(i) + "]";
    const auto& r = list[i];
    require_map(r, path);
    reject_unknown(r, path);
    auth::Rule rule;
    for (const char* key : {"identities", "keks", "operations"}) {
      if (!r[key]) {
        throw ConfigError(path + "." + key, "is required");
      }
    }
    rule.identities = string_list(r["identities"], path + ".identities");
    rule.keks = string_list(r["keks"], path + ".keks");
    auto ops = string_list(r["operations"], path + ".operations");
    for (size_t j = 0; j < ops.size(); ++j) {
      auto op = auth::parse_operation(ops[j]);
      if (!op) {
        throw ConfigError(path + ".operations[" + std::to_string(j) + "]",
                          "must be lease, unwrap or resolve, not '" + ops[j] + "'");
      }
      rule.operations.push_back(*op);
    }
    rules.push_back(std::move(rule));
  }
  return auth::Policy(std::move(rules));
}

}  // namespace

std::chrono::milliseconds parse_duration(const std::string& key, const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  if (digits == 0 || digits > 12) {
    throw ConfigError(key, "must be a duration like 250ms, 30s, 5m or 24h, not '" + text + "'");
  }
  int64_t n = std::stoll(text.substr(0, digits));
  std::string unit = text.substr(digits);
  std::chrono::milliseconds d;
  if (unit == "ms") {
    d = std::chrono::milliseconds(n);
  } else if (unit == "s") {
    d = std::chrono::seconds(n);
  } else if (unit == "m") {
    d = std::chrono::minutes(n);
  } else if (unit == "h") {
    d = std::chrono::hours(n);
  } else {
    throw ConfigError(key, "must be a duration like 250ms, 30s, 5m or 24h, not '" + text + "'");
  }
  if (d.count() <= 0) {
    throw ConfigError(key, "must be longer than zero");
  }
  return d;
}

const std::string& KeybrokerConfig::kek_id_for(const std::string& alias) const {
  auto it = kek_aliases.find(alias);
  return it == kek_aliases.end() ? alias : it->second;
}

std::vector<std::string> KeybrokerConfig::names_of_kek(const std::string& kek_id) const {
  std::vector<std::string> names{kek_id};
  for (const auto& [alias, id] : kek_aliases) {
    if (id == kek_id) {
      names.push_back(alias);
    }
  }
  return names;
}

KeybrokerConfig parse_keybroker_config(const YAML::Node& root) {
  require_map(root, "");
  reject_unknown(root, "");
  KeybrokerConfig c;
  if (root["listen"]) {
    c.listen = string_at(root["listen"], "listen");
  }
  if (c.listen.find(':') == std::string::npos) {
    throw ConfigError("listen", "must be host:port, not '" + c.listen + "'");
  }
  if (root["insecure_plaintext_for_development"]) {
    c.insecure_plaintext_for_development =
        scalar<bool>(root["insecure_plaintext_for_development"],
                     "insecure_plaintext_for_development", "true or false");
  }
  if (root["tls"]) {
    parse_tls(root["tls"], c.tls);
  } else if (!c.insecure_plaintext_for_development) {
    throw ConfigError("tls",
                      "is required: the key broker only serves mutual TLS (set "
                      "insecure_plaintext_for_development: true for local experiments)");
  }
  if (!root["kms"]) {
    throw ConfigError("kms", "is required");
  }
  parse_kms(root["kms"], c.kms, c.deks, c.default_deadline);
  if (root["kek_aliases"]) {
    const auto& aliases = root["kek_aliases"];
    require_map(aliases, "kek_aliases");
    for (const auto& kv : aliases) {
      auto alias = kv.first.as<std::string>();
      c.kek_aliases[alias] = string_at(kv.second, "kek_aliases." + alias);
    }
  }
  if (root["deks"]) {
    parse_deks(root["deks"], c.deks);
  }
  if (root["unwrap_cache"]) {
    parse_unwrap_cache(root["unwrap_cache"], c.deks);
  }
  if (root["audit"]) {
    require_map(root["audit"], "audit");
    reject_unknown(root["audit"], "audit");
    if (root["audit"]["path"]) {
      c.audit_path = string_at(root["audit"]["path"], "audit.path");
    }
  }
  if (root["admin"]) {
    require_map(root["admin"], "admin");
    reject_unknown(root["admin"], "admin");
    if (!root["admin"]["listen"]) {
      throw ConfigError("admin.listen", "is required");
    }
    auto listen = string_at(root["admin"]["listen"], "admin.listen");
    auto colon = listen.rfind(':');
    int port = -1;
    if (colon != std::string::npos && colon > 0) {
      try {
        port = std::stoi(listen.substr(colon + 1));
      } catch (const std::exception&) {
        port = -1;
      }
    }
    if (port < 1 || port > 65535) {
      throw ConfigError("admin.listen",
                        "must be host:port with a port 1-65535, not '" + listen + "'");
    }
    c.admin_address = listen.substr(0, colon);
    c.admin_port = static_cast<uint16_t>(port);
  }
  if (!root["authorization"]) {
    throw ConfigError("authorization", "is required (without rules every request is denied)");
  }
  c.policy = parse_authorization(root["authorization"]);
  return c;
}

}  // namespace kenc::keybroker::config
