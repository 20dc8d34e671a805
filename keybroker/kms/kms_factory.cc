#include "keybroker/kms/kms_factory.h"

#include "common/config/config_error.h"
#include "keybroker/kms/local/local_kms.h"
#include "keybroker/kms/vault/vault_kms.h"

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
    if (!config.vault || !config.vault.IsMap()) {
      throw kenc::config::ConfigError("kms.vault", "required when kms.type is 'vault'");
    }
    return std::make_unique<vault::VaultKms>(
        vault::VaultConfig::from_yaml(config.vault, "kms.vault"));
  }
  throw kenc::config::ConfigError("kms.type", "unknown KMS type '" + config.type + "'");
}

}  // namespace kenc::keybroker::kms
