// kenc-proxy: loads the configuration, builds every virtual cluster's listeners and filters, and
// serves until SIGTERM/SIGINT, then drains open connections and exits.
#include <cstring>
#include <iostream>
#include <string>

#include "common/config/config_error.h"
#include "common/crypto/aes_gcm.h"
#include "common/log/logging.h"
#include "kenc/version.h"
#include "proxy/config/proxy_config.h"
#include "proxy/gateway/gateway_builder.h"
#include "proxy/server/proxy_server.h"
#include "proxy/server/run_until_signalled.h"

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
      std::cout << "kenc-proxy " << kenc::kVersion << "\n";
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
  kenc::proxy::ProxyServerOptions options;
  try {
    auto config = kenc::proxy::config::load_proxy_config(config_path);
    // Building loads certificates and keys too, so --check-config catches a bad one.
    options = kenc::proxy::build_server_options(config);
  } catch (const kenc::config::ConfigError& e) {
    std::cerr << "configuration error: " << e.what() << "\n";
    return 1;
  }
  if (check_only) {
    std::cout << "configuration OK: " << config_path << "\n";
    return 0;
  }
  LOG(INFO) << "kenc-proxy " << kenc::kVersion
            << " starting (AES-256-GCM: " << kenc::crypto::aes_gcm_implementation() << ")";
  kenc::proxy::ProxyServer server(std::move(options));
  if (auto started = server.start(); !started.ok()) {
    std::cerr << "cannot start: " << started.error().message << "\n";
    return 1;
  }
  return kenc::proxy::run_until_signalled(server);
}
