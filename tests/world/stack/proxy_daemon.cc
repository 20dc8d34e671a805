#include "tests/world/stack/proxy_daemon.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "tests/world/base/admin_http.h"
#include "tests/world/base/process.h"

#ifndef KENC_PROXY_BINARY
#error "KENC_PROXY_BINARY must name the kenc-proxy executable"
#endif

namespace kenc::testworld {

// KENC_TEST_PROXY_BINARY, when set, names another build of the daemon (scripts/test.sh runs
// these suites against the ThreadSanitizer build of the daemons).
std::string proxy_binary() {
  const char* other = std::getenv("KENC_TEST_PROXY_BINARY");
  return other != nullptr && *other != '\0' ? other : KENC_PROXY_BINARY;
}

ProxyDaemon::ProxyDaemon(std::string dir, std::string name, const std::string& config_yaml,
                         Ports ports)
    : name_(std::move(name)), ports_(ports) {
  config_path_ = dir + "/" + name_ + ".yaml";
  log_path_ = dir + "/" + name_ + ".log";
  rewrite_config(config_yaml);
}

ProxyDaemon::~ProxyDaemon() { stop(std::chrono::seconds(5)); }

void ProxyDaemon::rewrite_config(const std::string& config_yaml) {
  std::ofstream(config_path_, std::ios::trunc) << config_yaml;
}

std::string ProxyDaemon::start(std::chrono::seconds timeout) {
  if (running()) return "kenc-proxy " + name_ + " is already running";
  Process::Options options;
  options.argv = {proxy_binary(), "--config", config_path_};
  options.log_file = log_path_;
  try {
    process_ = std::make_unique<Process>(options);
  } catch (const std::exception& e) {
    return "cannot start kenc-proxy " + name_ + ": " + e.what();
  }
  // Every listener, not only the bootstrap one: a client redirected to a broker port right
  // after start-up must find it open.
  std::vector<int> ports{ports_.bootstrap};
  for (int i = 1; i <= ports_.broker_ports; ++i) ports.push_back(ports_.bootstrap + i);
  if (ports_.admin != 0) ports.push_back(ports_.admin);
  auto until = std::chrono::steady_clock::now() + timeout;
  size_t ready = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (!process_->running()) {
      int code = process_->wait(std::chrono::milliseconds(0));
      process_.reset();
      return "kenc-proxy " + name_ + " exited during start-up (exit code " + std::to_string(code) +
             "); its log:\n" + log_tail();
    }
    while (ready < ports.size() && port_open(ports[ready])) ++ready;
    if (ready == ports.size()) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  return "kenc-proxy " + name_ + " did not listen on port " + std::to_string(ports[ready]) +
         " in time; its log:\n" + log_tail();
}

int ProxyDaemon::stop(std::chrono::milliseconds grace) {
  if (!process_) return -1;
  int status = process_->stop(grace);
  process_.reset();
  return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ProxyDaemon::kill() {
  if (!process_) return;
  process_->kill();
  process_.reset();
}

std::string ProxyDaemon::restart(std::chrono::seconds timeout) {
  stop();
  return start(timeout);
}

bool ProxyDaemon::running() const { return process_ && process_->running(); }

pid_t ProxyDaemon::pid() const { return process_ ? process_->pid() : -1; }

std::string ProxyDaemon::bootstrap() const {
  return "127.0.0.1:" + std::to_string(ports_.bootstrap);
}

std::string ProxyDaemon::log_tail(size_t max_bytes) const {
  return tail_file(log_path_, max_bytes);
}

std::string ProxyDaemon::admin_get(const std::string& path) const {
  return ports_.admin == 0 ? "" : http_get_body(ports_.admin, path);
}

std::pair<int, std::string> check_proxy_config(const std::string& config_file) {
  auto r = run_command({proxy_binary(), "--check-config", "--config", config_file}, "",
                       std::chrono::minutes(1));
  return {r.exit_code, r.output};
}

}  // namespace kenc::testworld
