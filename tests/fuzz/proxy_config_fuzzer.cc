// libFuzzer target for the proxy's YAML configuration loader (proxy/config/proxy_config.h):
// the input is a YAML document. Whatever the bytes, the loader must either return a config or
// throw the errors start-up reports cleanly (a YAML syntax error or a ConfigError naming the
// key); any other exception, crash or sanitizer report is a bug.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config/config_error.h"
#include "proxy/config/proxy_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)kenc::proxy::config::parse_proxy_config(YAML::Load(text));
  } catch (const kenc::config::ConfigError&) {
  } catch (const YAML::Exception&) {
  }
  return 0;
}
