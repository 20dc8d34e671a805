// kenc-keybroker: the key broker daemon. Loads and validates the configuration, opens the KMS
// and the audit log, serves the KeyBroker gRPC API over mutual TLS until SIGTERM or SIGINT.
#include <pthread.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <string>

#include "common/admin/admin_server.h"
#include "common/admin/metrics.h"
#include "common/config/config_error.h"
#include "common/config/yaml_file.h"
#include "common/log/logging.h"
#include "common/tls/tls_version.h"
#include "kenc/version.h"
#include "keybroker/audit/audit_log.h"
#include "keybroker/config/keybroker_config.h"
#include "keybroker/dek/dek_manager.h"
#include "keybroker/kms/kms_factory.h"
#include "keybroker/kms/local/local_kms.h"
#include "keybroker/server/grpc_server.h"
#include "keybroker/server/key_broker_service.h"

namespace {

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0 << " --config FILE [--check-config]\n"
            << "       " << argv0 << " --config FILE --create-kek ID | --rotate-kek ID\n"
            << "       " << argv0 << " --version\n"
            << "--create-kek and --rotate-kek manage the local KMS's key file (kms.type: local);\n"
            << "a running broker picks the change up at its next KEK refresh.\n";
  return 2;
}

// --create-kek / --rotate-kek: one change to the local KMS's key file, then exit.
int manage_local_kek(const kenc::keybroker::config::KeybrokerConfig& config,
                     const std::string& create_kek, const std::string& rotate_kek) {
  namespace kms = kenc::keybroker::kms;
  if (config.kms.type != "local") {
    std::cerr << "--create-kek and --rotate-kek work on the local KMS only (kms.type is "
              << config.kms.type << ")\n";
    return 1;
  }
  auto local = kms::LocalKms::open({config.kms.local.key_file, false});
  if (!local) {
    std::cerr << local.error().to_string() << "\n";
    return 1;
  }
  auto info =
      create_kek.empty() ? (*local)->rotate_kek(rotate_kek) : (*local)->create_kek(create_kek);
  if (!info) {
    std::cerr << info.error().to_string() << "\n";
    return 1;
  }
  std::cout << "KEK " << info->kek_id << " is at version " << info->latest_version << "\n";
  return 0;
}

int run(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  std::string create_kek, rotate_kek;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0) {
      std::cout << "kenc-keybroker " << kenc::kVersion << "\n";
      return 0;
    }
    if (std::strcmp(argv[i], "--check-config") == 0) {
      check_only = true;
    } else if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else if (std::strcmp(argv[i], "--create-kek") == 0 && i + 1 < argc) {
      create_kek = argv[++i];
    } else if (std::strcmp(argv[i], "--rotate-kek") == 0 && i + 1 < argc) {
      rotate_kek = argv[++i];
    } else {
      return usage(argv[0]);
    }
  }
  if (config_path.empty()) {
    return usage(argv[0]);
  }
  kenc::log::init(argv[0]);

  // Block the shutdown signals in every thread (gRPC's included); main waits for them below.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGTERM);
  sigaddset(&shutdown_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);

  namespace kb = kenc::keybroker;
  kb::config::KeybrokerConfig config;
  std::unique_ptr<kb::kms::Kms> kms;
  try {
    config = kb::config::parse_keybroker_config(kenc::config::load_yaml_file(config_path));
    kms = kb::kms::make_kms(config.kms);
  } catch (const kenc::config::ConfigError& e) {
    std::cerr << "configuration error: " << e.what() << "\n";
    return 1;
  }
  if (check_only) {
    std::cout << "configuration OK: " << config_path << "\n";
    return 0;
  }
  if (!create_kek.empty() || !rotate_kek.empty()) {
    return manage_local_kek(config, create_kek, rotate_kek);
  }
  LOG(INFO) << "kenc-keybroker " << kenc::kVersion << " starting (" << kenc::tls::openssl_version()
            << ", KMS " << kms->name() << ", " << config.policy.rule_count()
            << " authorization rules)";

  auto audit = kb::audit::AuditLog::open(config.audit_path);
  if (!audit) {
    LOG(ERROR) << audit.error().to_string();
    return 1;
  }
  kenc::admin::MetricsRegistry registry;
  kb::dek::DekMetrics dek_metrics(registry);
  kb::server::ServiceMetrics service_metrics(registry);
  kb::dek::DekManager deks(*kms, config.deks, kb::dek::DekManager::Clock::now, &dek_metrics);
  kb::server::KeyBrokerService service(config, deks, **audit, &service_metrics);

  // Ready while the KMS answers its health check (asked on the admin thread, 1 s at most).
  std::unique_ptr<kenc::admin::AdminServer> admin;
  if (config.admin_port != 0) {
    kenc::admin::AdminServerOptions admin_options;
    admin_options.address = config.admin_address;
    admin_options.port = config.admin_port;
    admin = std::make_unique<kenc::admin::AdminServer>(admin_options, registry, [&deks] {
      return deks.kms_health(kb::dek::DekManager::Clock::now() + std::chrono::seconds(1)).ok();
    });
    if (kenc::Status started = admin->start(); !started) {
      LOG(ERROR) << "cannot start the admin HTTP server: " << started.error().to_string();
      return 1;
    }
    LOG(INFO) << "admin HTTP on " << config.admin_address << ":" << admin->port();
  }
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  try {
    server = kb::server::start_grpc_server(config, service, &port);
  } catch (const kenc::config::ConfigError& e) {
    LOG(ERROR) << "cannot start: " << e.what();
    return 1;
  }
  LOG(INFO) << "listening on " << config.listen << " (port " << port << ", "
            << (config.insecure_plaintext_for_development ? "PLAINTEXT" : "mutual TLS") << ")";

  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  LOG(INFO) << "received " << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
            << ", shutting down";
  // In-flight calls get a few seconds to finish; new ones are refused.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  if (admin) {
    admin->stop();
  }
  LOG(INFO) << "stopped";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Anything not handled where it arose (configuration errors are, with their key) ends the
  // daemon with its message in the log rather than with std::terminate.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    LOG(ERROR) << "fatal: " << e.what();
    return 1;
  }
}
