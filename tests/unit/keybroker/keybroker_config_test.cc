#include "keybroker/config/keybroker_config.h"

#include <gtest/gtest.h>

#include "common/config/config_error.h"

namespace kenc::keybroker::config {
namespace {

using namespace std::chrono_literals;

constexpr char kMinimal[] = R"(
insecure_plaintext_for_development: true
kms:
  local:
    key_file: /tmp/keks.json
authorization:
  rules:
    - identities: ["*"]
      keks: ["*"]
      operations: [lease]
)";

std::string error_key(const std::string& yaml) {
  try {
    parse_keybroker_config(YAML::Load(yaml));
  } catch (const kenc::config::ConfigError& e) {
    return e.key();
  }
  return "(no error)";
}

TEST(KeybrokerConfig, DefaultsAreTheDocumentedOnes) {
  auto c = parse_keybroker_config(YAML::Load(kMinimal));
  EXPECT_EQ(c.listen, "127.0.0.1:9443");
  EXPECT_EQ(c.kms.type, "local");
  EXPECT_FALSE(c.kms.local.create_missing_keks);
  EXPECT_EQ(c.deks.max_encryptions_per_dek, uint64_t{1} << 32);
  EXPECT_EQ(c.deks.lease_size, uint64_t{1} << 20);
  EXPECT_EQ(c.deks.max_dek_age, 24h);
  EXPECT_EQ(c.deks.kek_refresh_interval, 1min);
  EXPECT_EQ(c.audit_path, "-");
  EXPECT_EQ(c.policy.rule_count(), 1u);
}

TEST(KeybrokerConfig, ReadsEverySection) {
  auto c = parse_keybroker_config(YAML::Load(std::string(kMinimal) + R"(
listen: 0.0.0.0:7000
kek_aliases: {orders: kek-orders-v2}
deks:
  max_encryptions_per_dek: 5000
  lease_size: 100
  max_dek_age: 2h
  max_lease_duration: 10m
  kek_refresh_interval: 30s
unwrap_cache: {capacity: 7, ttl: 90s}
audit: {path: /var/log/kenc/audit.jsonl}
admin: {listen: "127.0.0.1:9091"}
)"));
  EXPECT_EQ(c.listen, "0.0.0.0:7000");
  EXPECT_EQ(c.kek_id_for("orders"), "kek-orders-v2");
  EXPECT_EQ(c.kek_id_for("payments"), "payments");
  EXPECT_EQ(c.names_of_kek("kek-orders-v2"), (std::vector<std::string>{"kek-orders-v2", "orders"}));
  EXPECT_EQ(c.deks.max_encryptions_per_dek, 5000u);
  EXPECT_EQ(c.deks.lease_size, 100u);
  EXPECT_EQ(c.deks.max_dek_age, 2h);
  EXPECT_EQ(c.deks.max_lease_duration, 10min);
  EXPECT_EQ(c.deks.kek_refresh_interval, 30s);
  EXPECT_EQ(c.deks.unwrap_cache_capacity, 7u);
  EXPECT_EQ(c.deks.unwrap_cache_ttl, 90s);
  EXPECT_EQ(c.audit_path, "/var/log/kenc/audit.jsonl");
  EXPECT_EQ(c.admin_address, "127.0.0.1");
  EXPECT_EQ(c.admin_port, 9091);
}

TEST(KeybrokerConfig, ErrorsNameTheKey) {
  const std::string base = kMinimal;
  EXPECT_EQ(error_key(base + "listn: x:1\n"), "listn");
  EXPECT_EQ(error_key(base + "deks: {lease_size: 0}\n"), "deks.lease_size");
  EXPECT_EQ(error_key(base + "deks: {lease_size: -5}\n"), "deks.lease_size");
  EXPECT_EQ(error_key(base + "deks: {max_encryptions_per_dek: 10, lease_size: 20}\n"),
            "deks.lease_size");
  EXPECT_EQ(error_key(base + "deks: {max_dek_age: 10 days}\n"), "deks.max_dek_age");
  EXPECT_EQ(error_key(base + "unwrap_cache: {ttl: 0s}\n"), "unwrap_cache.ttl");
  EXPECT_EQ(error_key(base + "listen: nocolon\n"), "listen");
  EXPECT_EQ(error_key(base + "admin: {listen: 127.0.0.1:99999}\n"), "admin.listen");
  EXPECT_EQ(error_key(base + "admin: {}\n"), "admin.listen");
  EXPECT_EQ(error_key(R"(
kms: {local: {key_file: /k}}
authorization: {}
)"),
            "tls");
  EXPECT_EQ(error_key(R"(
insecure_plaintext_for_development: true
kms: {type: cloud}
authorization: {}
)"),
            "kms.type");
  EXPECT_EQ(error_key(R"(
insecure_plaintext_for_development: true
kms: {local: {key_file: /k}}
)"),
            "authorization");
  EXPECT_EQ(error_key(R"(
insecure_plaintext_for_development: true
kms: {local: {key_file: /k}}
authorization:
  rules:
    - {identities: [a], keks: [b], operations: [lease, encrypt]}
)"),
            "authorization.rules[0].operations[1]");
  EXPECT_EQ(error_key(R"(
insecure_plaintext_for_development: true
tls: {ca_file: /nonexistent/ca.pem, cert_file: /x, key_file: /y}
kms: {local: {key_file: /k}}
authorization: {}
)"),
            "tls.ca_file");
}

TEST(KeybrokerConfig, Durations) {
  EXPECT_EQ(parse_duration("k", "250ms"), 250ms);
  EXPECT_EQ(parse_duration("k", "30s"), 30s);
  EXPECT_EQ(parse_duration("k", "5m"), 5min);
  EXPECT_EQ(parse_duration("k", "24h"), 24h);
  for (const char* bad : {"", "s", "5", "5d", "-5s", "0s", "99999999999999999s"}) {
    EXPECT_THROW(parse_duration("k", bad), kenc::config::ConfigError) << bad;
  }
}

}  // namespace
}  // namespace kenc::keybroker::config
