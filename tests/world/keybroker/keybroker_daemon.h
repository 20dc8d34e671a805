#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kenc::testworld {
class Process;
}

namespace kenc::keybroker::testing {

// A free TCP port on 127.0.0.1 (bound, read, released).
int free_port();

// Runs the real kenc-keybroker binary with a configuration file, as a child process whose
// output goes to <dir>/<name>.log (appended across restarts). The child dies with the test
// (PR_SET_PDEATHSIG). The destructor stops it (SIGTERM, then SIGKILL).
class KeybrokerDaemon {
 public:
  KeybrokerDaemon(std::filesystem::path dir, std::string name, const std::string& config_yaml,
                  int port);
  ~KeybrokerDaemon();
  KeybrokerDaemon(const KeybrokerDaemon&) = delete;
  KeybrokerDaemon& operator=(const KeybrokerDaemon&) = delete;

  // Starts the daemon (again, after stop() or kill(), on the same port with the same
  // configuration and key file) and waits until it accepts TCP connections. Returns "" or why
  // it failed (with the daemon's log).
  std::string start(std::chrono::seconds timeout = std::chrono::seconds(20));
  // SIGTERM, then waits; returns the exit status (-1 when it had to be killed or was not
  // running).
  int stop(std::chrono::seconds timeout = std::chrono::seconds(10));
  // SIGKILL, at once (fault tests): no drain, no clean shutdown.
  void kill();
  bool running() const;
  pid_t pid() const;
  // Replaces the configuration file; takes effect at the next start().
  void rewrite_config(const std::string& config_yaml);

  std::string log() const;
  int port() const { return port_; }
  const std::filesystem::path& config_path() const { return config_path_; }
  const std::filesystem::path& log_path() const { return log_path_; }

 private:
  std::filesystem::path dir_;
  std::string name_;
  std::filesystem::path config_path_;
  std::filesystem::path log_path_;
  int port_;
  std::unique_ptr<testworld::Process> process_;
};

// Runs kenc-keybroker with `args` to completion; returns its exit status and output.
std::pair<int, std::string> run_keybroker(const std::vector<std::string>& args);

// Runs `kenc-keybroker --check-config --config <file>`; returns exit status and output.
std::pair<int, std::string> check_config(const std::filesystem::path& config_file);

// The path of the kenc-keybroker binary the test world runs.
std::string keybroker_binary();

}  // namespace kenc::keybroker::testing
