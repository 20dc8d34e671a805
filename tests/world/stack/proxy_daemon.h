#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kenc::testworld {

class Process;

// Runs the real kenc-proxy binary with a YAML configuration written by the test, as a child
// process (dies with the test) whose output goes to <dir>/<name>.log, appended across
// restarts. start() returns once the bootstrap port and every per-broker port accept TCP
// connections; stop() sends SIGTERM (the proxy drains), kill() SIGKILL; start() again reuses
// the same ports and configuration.
class ProxyDaemon {
 public:
  struct Ports {
    int bootstrap = 0;
    int broker_ports = 0;  // port-per-broker: bootstrap+1 .. bootstrap+broker_ports
    int admin = 0;         // 0: no admin listener in the configuration
  };

  // Writes <dir>/<name>.yaml; does not start the process.
  ProxyDaemon(std::string dir, std::string name, const std::string& config_yaml, Ports ports);
  ~ProxyDaemon();
  ProxyDaemon(const ProxyDaemon&) = delete;
  ProxyDaemon& operator=(const ProxyDaemon&) = delete;

  // Starts the proxy and waits until its ports accept. Returns "" or why it failed, with the
  // end of the proxy's log.
  std::string start(std::chrono::seconds timeout = std::chrono::seconds(30));
  // SIGTERM, then SIGKILL after `grace`. Returns the exit code (-1: killed or not running).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(15));
  // SIGKILL at once (fault tests).
  void kill();
  // stop() (if running) then start().
  std::string restart(std::chrono::seconds timeout = std::chrono::seconds(30));
  bool running() const;
  pid_t pid() const;
  // Replaces the configuration file; takes effect at the next start().
  void rewrite_config(const std::string& config_yaml);

  // "127.0.0.1:<bootstrap port>": the only address clients are given.
  std::string bootstrap() const;
  const Ports& ports() const { return ports_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& log_path() const { return log_path_; }
  // The end of the proxy's log, for failure messages.
  std::string log_tail(size_t max_bytes = 6000) const;
  // GET http://127.0.0.1:<admin port><path>; the body, or "" when unreachable.
  std::string admin_get(const std::string& path) const;

 private:
  std::string name_;
  std::string config_path_;
  std::string log_path_;
  Ports ports_;
  std::unique_ptr<Process> process_;
};

// Runs `kenc-proxy --check-config --config <file>`: exit code and output.
std::pair<int, std::string> check_proxy_config(const std::string& config_file);

// The path of the kenc-proxy binary the test world runs.
std::string proxy_binary();

}  // namespace kenc::testworld
