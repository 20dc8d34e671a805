#pragma once

#include "common/config/key_schema.h"

namespace kenc::proxy::config {

// Every key kenc-proxy's YAML configuration accepts. parse_proxy_config rejects any key not in
// here; docs/configuration.md documents exactly these (checked by config_reference_unit_tests).
// The `encryption.topics` block is parsed by record_encryption::TopicPolicy, which lists its
// own keys.
const kenc::config::KeySchema& proxy_config_keys();

}  // namespace kenc::proxy::config
