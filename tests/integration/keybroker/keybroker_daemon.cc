#include "tests/integration/keybroker/keybroker_daemon.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#ifndef KENC_KEYBROKER_BINARY
#error "KENC_KEYBROKER_BINARY must name the kenc-keybroker executable"
#endif

namespace kenc::keybroker::testing {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool accepts_connections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& log_path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    std::vector<char*> argv;
    argv.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = loopback(0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

KeybrokerDaemon::KeybrokerDaemon(std::filesystem::path dir, std::string name,
                                 const std::string& config_yaml, int port)
    : dir_(std::move(dir)), name_(std::move(name)), port_(port) {
  config_path_ = dir_ / (name_ + ".yaml");
  log_path_ = dir_ / (name_ + ".log");
  std::ofstream(config_path_) << config_yaml;
}

KeybrokerDaemon::~KeybrokerDaemon() {
  if (pid_ > 0) {
    stop();
  }
}

std::string KeybrokerDaemon::start(std::chrono::seconds timeout) {
  pid_ = spawn({KENC_KEYBROKER_BINARY, "--config", config_path_.string()}, log_path_);
  if (pid_ < 0) {
    return "fork failed";
  }
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return "kenc-keybroker exited during start-up (status " + std::to_string(status) +
             "); its log:\n" + log();
    }
    if (accepts_connections(port_)) {
      return "";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "kenc-keybroker did not listen on port " + std::to_string(port_) + " in time; log:\n" +
         log();
}

int KeybrokerDaemon::stop(std::chrono::seconds timeout) {
  if (pid_ <= 0) {
    return -1;
  }
  ::kill(pid_, SIGTERM);
  auto until = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

std::string KeybrokerDaemon::log() const { return read_all(log_path_); }

std::pair<int, std::string> run_keybroker(const std::vector<std::string>& args) {
  char tmpl[] = "/tmp/kenc-kb-run-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ::close(fd);
  std::vector<std::string> argv{KENC_KEYBROKER_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = spawn(argv, tmpl);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::string output = read_all(tmpl);
  ::unlink(tmpl);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::pair<int, std::string> check_config(const std::filesystem::path& config_file) {
  return run_keybroker({"--check-config", "--config", config_file.string()});
}

}  // namespace kenc::keybroker::testing
