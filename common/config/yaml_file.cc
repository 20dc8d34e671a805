#include "common/config/yaml_file.h"

#include <fstream>
#include <sstream>

#include "common/config/config_error.h"

namespace kenc::config {

YAML::Node load_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw ConfigError("", "cannot read configuration file '" + path + "'");
  }
  std::stringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::ParserException& e) {
    throw ConfigError("", "'" + path + "' is not valid YAML: " + e.what());
  }
  if (!root.IsMap()) {
    throw ConfigError("", "'" + path + "' must contain a YAML mapping at the top level");
  }
  return root;
}

}  // namespace kenc::config
