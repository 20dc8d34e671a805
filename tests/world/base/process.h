#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace kenc::testworld {

// A child process of the test: a Kafka broker, OpenBao, a daemon of ours, a client tool.
// The child dies with the test process (PR_SET_PDEATHSIG), so a crashed test leaves no orphans.
// Its stdout and stderr go to `log_file` (appended), or are discarded when that is empty.
class Process {
 public:
  struct Options {
    std::vector<std::string> argv;  // argv[0] is looked up in PATH
    std::map<std::string, std::string> extra_env;
    std::string log_file;
    std::string working_dir;
    std::string stdin_file;  // empty: /dev/null
  };

  Process() = default;
  explicit Process(Options options);  // starts it; throws std::runtime_error if it cannot
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // SIGTERM, then SIGKILL after `grace`. Returns the exit status (as from waitpid), or -1.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL at once (fault tests).
  void kill();
  void signal(int sig);
  // Waits for the process to exit on its own; returns its exit code, or -1 on timeout/signal.
  int wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// Result of running a command to completion.
struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string output;  // stdout and stderr interleaved
};

// Runs a command, feeding `input` to its stdin, and returns its exit code and output.
// Kills it after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "",
                          std::chrono::milliseconds timeout = std::chrono::minutes(5),
                          const std::map<std::string, std::string>& extra_env = {});

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int free_port();

// True once something accepts TCP connections on 127.0.0.1:port.
bool port_open(int port);

// A port P with P+1 .. P+n free too, each bindable by a listener now (port-per-broker gateways
// need a contiguous range).
int free_port_range(int n);

// The last `max_bytes` of a file, for failure messages.
std::string tail_file(const std::string& path, size_t max_bytes = 4000);

}  // namespace kenc::testworld
