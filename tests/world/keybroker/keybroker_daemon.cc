#include "tests/world/keybroker/keybroker_daemon.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/world/base/process.h"

#ifndef KENC_KEYBROKER_BINARY
#error "KENC_KEYBROKER_BINARY must name the kenc-keybroker executable"
#endif

namespace kenc::keybroker::testing {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int free_port() { return testworld::free_port(); }

// KENC_TEST_KEYBROKER_BINARY, when set, names another build of the daemon (scripts/test.sh runs
// these suites against the ThreadSanitizer build of the daemons).
std::string keybroker_binary() {
  const char* other = std::getenv("KENC_TEST_KEYBROKER_BINARY");
  return other != nullptr && *other != '\0' ? other : KENC_KEYBROKER_BINARY;
}

KeybrokerDaemon::KeybrokerDaemon(std::filesystem::path dir, std::string name,
                                 const std::string& config_yaml, int port)
    : dir_(std::move(dir)), name_(std::move(name)), port_(port) {
  config_path_ = dir_ / (name_ + ".yaml");
  log_path_ = dir_ / (name_ + ".log");
  rewrite_config(config_yaml);
}

KeybrokerDaemon::~KeybrokerDaemon() { stop(); }

void KeybrokerDaemon::rewrite_config(const std::string& config_yaml) {
  std::ofstream(config_path_, std::ios::trunc) << config_yaml;
}

std::string KeybrokerDaemon::start(std::chrono::seconds timeout) {
  if (running()) return "kenc-keybroker is already running";
  testworld::Process::Options options;
  options.argv = {keybroker_binary(), "--config", config_path_.string()};
  options.log_file = log_path_.string();
  try {
    process_ = std::make_unique<testworld::Process>(options);
  } catch (const std::exception& e) {
    return std::string("cannot start kenc-keybroker: ") + e.what();
  }
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (!process_->running()) {
      int code = process_->wait(std::chrono::milliseconds(0));
      process_.reset();
      return "kenc-keybroker exited during start-up (exit code " + std::to_string(code) +
             "); its log:\n" + log();
    }
    if (testworld::port_open(port_)) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "kenc-keybroker did not listen on port " + std::to_string(port_) + " in time; log:\n" +
         log();
}

int KeybrokerDaemon::stop(std::chrono::seconds timeout) {
  if (!process_) return -1;
  int status = process_->stop(timeout);
  process_.reset();
  return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void KeybrokerDaemon::kill() {
  if (!process_) return;
  process_->kill();
  process_.reset();
}

bool KeybrokerDaemon::running() const { return process_ && process_->running(); }

pid_t KeybrokerDaemon::pid() const { return process_ ? process_->pid() : -1; }

std::string KeybrokerDaemon::log() const { return read_all(log_path_); }

std::pair<int, std::string> run_keybroker(const std::vector<std::string>& args) {
  std::vector<std::string> argv{keybroker_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = testworld::run_command(argv, "", std::chrono::minutes(1));
  return {result.exit_code, result.output};
}

std::pair<int, std::string> check_config(const std::filesystem::path& config_file) {
  return run_keybroker({"--check-config", "--config", config_file.string()});
}

}  // namespace kenc::keybroker::testing
