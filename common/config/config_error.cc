#include "common/config/config_error.h"

namespace kenc::config {

ConfigError::ConfigError(const std::string& key, const std::string& problem)
    : std::runtime_error(key.empty() ? problem : key + ": " + problem), key_(key) {}

}  // namespace kenc::config
