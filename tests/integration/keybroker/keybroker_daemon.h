#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace kenc::keybroker::testing {

// A free TCP port on 127.0.0.1 (bound, read, released).
int free_port();

// Runs the real kenc-keybroker binary with a configuration file, as a child process whose
// output goes to <dir>/<name>.log. The destructor stops it (SIGTERM, then SIGKILL).
class KeybrokerDaemon {
 public:
  KeybrokerDaemon(std::filesystem::path dir, std::string name, const std::string& config_yaml,
                  int port);
  ~KeybrokerDaemon();

  // Starts the daemon and waits until it accepts TCP connections. Returns "" or why it failed
  // (with the daemon's log).
  std::string start(std::chrono::seconds timeout = std::chrono::seconds(20));
  // SIGTERM, then waits; returns the exit status (-1 when it had to be killed).
  int stop(std::chrono::seconds timeout = std::chrono::seconds(10));
  std::string log() const;
  int port() const { return port_; }
  const std::filesystem::path& config_path() const { return config_path_; }

 private:
  std::filesystem::path dir_;
  std::string name_;
  std::filesystem::path config_path_;
  std::filesystem::path log_path_;
  int port_;
  pid_t pid_ = -1;
};

// Runs kenc-keybroker with `args` to completion; returns its exit status and output.
std::pair<int, std::string> run_keybroker(const std::vector<std::string>& args);

// Runs `kenc-keybroker --check-config --config <file>`; returns exit status and output.
std::pair<int, std::string> check_config(const std::filesystem::path& config_file);

}  // namespace kenc::keybroker::testing
