#include "keybroker/kms/kms_factory.h"

#include "common/config/config_error.h"
#include "keybroker/kms/local/local_kms.h"

namespace kenc::keybroker::kms {

std::unique_ptr<Kms> make_kms(const config::KmsConfig& config) {
  if (config.type == "local") {
    auto kms = LocalKms::open({config.local.key_file, config.local.create_missing_keks});
    if (!kms) {
      throw kenc::config::ConfigError("kms.local.key_file", kms.error().message);
    }
    return std::move(kms.value());
  }
  if (config.type == "vault") {
    // Hook for the Vault Transit backend (keybroker/kms/vault/, branch openbao): parse
    // config.vault with its own parser and return a VaultKms here once it is on main.
    throw kenc::config::ConfigError("kms.type", "vault backend not built into this key broker yet");
  }
  throw kenc::config::ConfigError("kms.type", "unknown KMS type '" + config.type + "'");
}

}  // namespace kenc::keybroker::kms
