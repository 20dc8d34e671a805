#pragma once

#include "common/config/key_schema.h"

namespace kenc::keybroker::config {

// Every key kenc-keybroker's YAML configuration accepts. parse_keybroker_config rejects any key
// not in here; docs/configuration.md documents exactly these (checked by
// config_reference_unit_tests). Two mappings are open-ended or parsed elsewhere: `kek_aliases`
// (any alias is a key) and `kms.vault` (keys listed by kms::vault::VaultConfig).
const kenc::config::KeySchema& keybroker_config_keys();

}  // namespace kenc::keybroker::config
