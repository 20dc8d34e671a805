// kenc-keybroker: entry point. Parses the command line and loads the configuration.
#include <cstring>
#include <iostream>
#include <string>

#include "common/config/config_error.h"
#include "common/config/yaml_file.h"
#include "common/log/logging.h"
#include "kenc/version.h"

namespace {

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0 << " --config FILE [--check-config] | --version\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0) {
      std::cout << "kenc-keybroker " << kenc::kVersion << "\n";
      return 0;
    }
    if (std::strcmp(argv[i], "--check-config") == 0) {
      check_only = true;
    } else if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else {
      return usage(argv[0]);
    }
  }
  if (config_path.empty()) {
    return usage(argv[0]);
  }
  kenc::log::init(argv[0]);
  try {
    kenc::config::load_yaml_file(config_path);
  } catch (const kenc::config::ConfigError& e) {
    std::cerr << "configuration error: " << e.what() << "\n";
    return 1;
  }
  if (check_only) {
    std::cout << "configuration OK: " << config_path << "\n";
    return 0;
  }
  LOG(INFO) << "kenc-keybroker " << kenc::kVersion << " starting";
  return 0;
}
