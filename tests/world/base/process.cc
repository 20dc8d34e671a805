#include "tests/world/base/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace kenc::testworld {
namespace {

using Clock = std::chrono::steady_clock;

// Builds the child's environment: ours plus the extras (extras win).
std::vector<std::string> child_environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos && extra.count(entry.substr(0, eq)) != 0) continue;
    env.push_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Everything the child needs, prepared before fork(): a forked child of a multi-threaded
// process may only make async-signal-safe calls until it execs. Allocating there (copying a
// std::string) can deadlock on an allocator lock some other thread held at the fork, which it
// did under AddressSanitizer.
struct ExecPlan {
  ExecPlan(std::vector<std::string> argv_in, std::vector<std::string> env_in)
      : argv(std::move(argv_in)),
        env(std::move(env_in)),
        args(c_strings(argv)),
        envp(c_strings(env)) {}
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::vector<char*> args;
  std::vector<char*> envp;
};

// Child side of fork(): never returns, allocates nothing.
[[noreturn]] void exec_child(const ExecPlan& plan, int stdin_fd, int out_fd,
                             const char* working_dir, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl
  setpgid(0, 0);  // own process group, so stop() reaches the JVM's children too
  dup2(stdin_fd, STDIN_FILENO);
  dup2(out_fd, STDOUT_FILENO);
  dup2(out_fd, STDERR_FILENO);
  if (working_dir[0] != '\0' && chdir(working_dir) != 0) _exit(126);
  execvpe(plan.args[0], plan.args.data(), plan.envp.data());
  static constexpr char kExecFailed[] = "exec failed\n";
  [[maybe_unused]] auto ignored = write(out_fd, kExecFailed, sizeof kExecFailed - 1);
  _exit(127);
}

}  // namespace

Process::Process(Options options) {
  if (options.argv.empty()) throw std::runtime_error("Process: empty argv");
  int out_fd = options.log_file.empty() ? open("/dev/null", O_WRONLY | O_CLOEXEC)
                                        : open(options.log_file.c_str(),
                                               O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out_fd < 0) {
    throw std::runtime_error("Process: cannot open log file " + options.log_file + ": " +
                             strerror(errno));
  }
  int in_fd = open(options.stdin_file.empty() ? "/dev/null" : options.stdin_file.c_str(),
                   O_RDONLY | O_CLOEXEC);
  if (in_fd < 0) {
    close(out_fd);
    throw std::runtime_error("Process: cannot open stdin file " + options.stdin_file);
  }
  const ExecPlan plan(options.argv, child_environment(options.extra_env));
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) exec_child(plan, in_fd, out_fd, options.working_dir.c_str(), parent);
  close(in_fd);
  close(out_fd);
  if (pid_ < 0) throw std::runtime_error(std::string("fork failed: ") + strerror(errno));
}

Process::~Process() {
  if (pid_ > 0) stop(std::chrono::seconds(5));
}

Process::Process(Process&& other) noexcept : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) stop(std::chrono::seconds(5));
    pid_ = other.pid_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    pid_ = -1;
    return false;
  }
  return r == 0;
}

int Process::wait(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

void Process::signal(int sig) {
  if (pid_ > 0) ::kill(-pid_, sig);  // the whole process group
}

int Process::stop(std::chrono::milliseconds grace) {
  if (!running()) return status_;
  signal(SIGTERM);
  if (wait(grace) == -1 && running()) {
    signal(SIGKILL);
    wait(std::chrono::seconds(10));
  }
  return status_;
}

void Process::kill() {
  if (!running()) return;
  signal(SIGKILL);
  wait(std::chrono::seconds(10));
}

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input,
                          std::chrono::milliseconds timeout,
                          const std::map<std::string, std::string>& extra_env) {
  int in_pipe[2];
  int out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const ExecPlan plan(argv, child_environment(extra_env));
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) exec_child(plan, in_pipe[0], out_pipe[1], "", parent);
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (pid < 0) throw std::runtime_error("fork failed");

  // Feed stdin and drain stdout together, so neither side blocks on a full pipe.
  CommandResult result;
  size_t written = 0;
  int in_fd = in_pipe[1];
  fcntl(in_fd, F_SETFL, O_NONBLOCK);
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  auto deadline = Clock::now() + timeout;
  bool timed_out = false;
  char buf[65536];
  for (;;) {
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {in_fd, POLLOUT, 0}};
    int n = poll(fds, in_fd >= 0 ? 2 : 1, 100);
    if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP)) != 0) {
      ssize_t r = read(out_pipe[0], buf, sizeof buf);
      if (r <= 0) break;
      result.output.append(buf, static_cast<size_t>(r));
    }
    if (n > 0 && in_fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t w = write(in_fd, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN) written = input.size();
      if (written == input.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
    if (Clock::now() > deadline) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      break;
    }
  }
  if (in_fd >= 0) close(in_fd);
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = (!timed_out && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  if (timed_out) result.output += "\n[killed after timeout]\n";
  return result;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("bind to a free port failed");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// Whether a listener could bind 127.0.0.1:port now. Stricter than "nobody listens there": the
// port may also be the local end of some client's connection (the ephemeral range, where
// free_port() picks from), and then a listener's bind fails with EADDRINUSE.
static bool port_bindable(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

int free_port_range(int n) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    int base = free_port();
    bool all_free = base + n < 65535;
    for (int i = 1; i <= n && all_free; ++i) all_free = port_bindable(base + i);
    if (all_free) return base;
  }
  throw std::runtime_error("no free range of " + std::to_string(n + 1) + " ports");
}

std::string tail_file(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log at " + path + ")";
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in.tellg());
  size_t start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace kenc::testworld
