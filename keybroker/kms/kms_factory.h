#pragma once

#include <memory>

#include "keybroker/config/keybroker_config.h"
#include "keybroker/kms/kms.h"

namespace kenc::keybroker::kms {

// Builds the KMS backend the `kms:` section selects. Throws kenc::config::ConfigError for a
// backend that cannot be built from the configuration (bad key file, vault not available).
std::unique_ptr<Kms> make_kms(const config::KmsConfig& config);

}  // namespace kenc::keybroker::kms
