#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace kenc::config {

// Reads a YAML document from a file. Throws ConfigError (with the file name and the parser's
// line and column) when the file cannot be read or is not valid YAML, and when the top level
// is not a mapping.
YAML::Node load_yaml_file(const std::string& path);

}  // namespace kenc::config
