// libFuzzer target for the key broker's YAML configuration loader
// (keybroker/config/keybroker_config.h): a YAML document must give a config, a YAML syntax error
// or a ConfigError naming the key; any other exception, crash or sanitizer report is a bug.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config/config_error.h"
#include "keybroker/config/keybroker_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)kenc::keybroker::config::parse_keybroker_config(YAML::Load(text));
  } catch (const kenc::config::ConfigError&) {
  } catch (const YAML::Exception&) {
  }
  return 0;
}
