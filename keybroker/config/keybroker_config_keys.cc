#include "keybroker/config/keybroker_config_keys.h"

namespace kenc::keybroker::config {

const kenc::config::KeySchema& keybroker_config_keys() {
  static const kenc::config::KeySchema kSchema{
      {"",
       {"listen", "insecure_plaintext_for_development", "tls", "kms", "kek_aliases", "deks",
        "unwrap_cache", "audit", "authorization", "admin"}},
      {"tls", {"ca_file", "cert_file", "key_file"}},
      {"kms", {"type", "local", "vault", "threads", "call_timeout"}},
      {"kms.local", {"key_file", "create_missing_keks"}},
      {"deks",
       {"max_encryptions_per_dek", "lease_size", "max_dek_age", "max_lease_duration",
        "kek_refresh_interval"}},
      {"unwrap_cache", {"capacity", "ttl"}},
      {"audit", {"path"}},
      {"admin", {"listen"}},
      {"authorization", {"rules"}},
      {"authorization.rules[]", {"identities", "keks", "operations"}},
  };
  return kSchema;
}

}  // namespace kenc::keybroker::config
