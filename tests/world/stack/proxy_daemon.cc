#include "tests/world/stack/proxy_daemon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

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

std::string http_get_body(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return "";
  }
  std::string response;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) {
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

double metric_value(const std::string& page, const std::string& name,
                    const std::vector<std::string>& label_parts) {
  std::istringstream in(page);
  double sum = 0;
  bool matched = false;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line.rfind(name, 0) != 0) continue;
    if (line.size() <= name.size() || (line[name.size()] != '{' && line[name.size()] != ' ')) {
      continue;  // another metric whose name starts with `name`
    }
    auto space = line.rfind(' ');
    const std::string series = line.substr(0, space);
    bool all = true;
    for (const auto& part : label_parts) all = all && series.find(part) != std::string::npos;
    if (!all) continue;
    sum += std::stod(line.substr(space + 1));
    matched = true;
  }
  return matched ? sum : -1;
}

}  // namespace kenc::testworld
