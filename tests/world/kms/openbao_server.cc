#include "tests/world/kms/openbao_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "keybroker/kms/vault/http_client.h"

extern char** environ;

namespace kenc::testworld {
namespace {

namespace fs = std::filesystem;
using keybroker::kms::vault::HttpRequest;
using keybroker::kms::vault::perform_http;

std::string tail_of_file(const std::string& path, size_t max_bytes = 3000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

bool port_free(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A port p with p+1 free too: the dev server's cluster listener takes the next port.
uint16_t pick_port_pair() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const uint16_t port = ntohs(addr.sin_port);
    ::close(fd);
    if (port < 65535 && port_free(port) && port_free(static_cast<uint16_t>(port + 1))) return port;
  }
  return 0;
}

std::string new_run_dir() {
  static std::atomic<int> counter{0};
  const fs::path dir = fs::path(KENC_WORLD_DIR) / "runs" /
                       ("kms-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

OpenBaoServer* g_server = nullptr;
bool g_ready = false;
std::string g_failure = "the KMS environment was not set up";

}  // namespace

Result<std::string> ensure_kms_binary() {
  const fs::path world(KENC_WORLD_DIR);
  fs::create_directories(world / "runs");
  const std::string log = (world / "runs" / "kms-fetch.log").string();
  const std::string command = std::string("'") + KENC_SOURCE_DIR +
                              "/tools/openbao/fetch-openbao.sh' '" + world.string() + "' > '" +
                              log + "' 2>&1";
  const int rc = std::system(command.c_str());
  if (rc != 0) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot fetch the OpenBao server (tools/openbao/fetch-openbao.sh exited " +
                          std::to_string(rc) + "; see docs/kms-vault.md). Log " + log +
                          " ends with:\n" + tail_of_file(log));
  }
  const std::string path = (world / "bin" / "bao").string();
  if (::access(path.c_str(), X_OK) != 0) {
    return make_error(ErrorCode::kUnavailable,
                      "fetch-openbao.sh succeeded but " + path + " is missing");
  }
  return path;
}

OpenBaoServer::OpenBaoServer(OpenBaoOptions options) : options_(std::move(options)) {}

OpenBaoServer::~OpenBaoServer() {
  stop();
  if (!keep_logs_ && !run_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(run_dir_, ec);
  }
}

std::string OpenBaoServer::address() const {
  return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::string OpenBaoServer::ca_file() const { return run_dir_ + "/tls/vault-ca.pem"; }

Status OpenBaoServer::start() {
  auto binary = ensure_kms_binary();
  if (!binary.ok()) return binary.error();
  if (run_dir_.empty()) run_dir_ = new_run_dir();
  // A persistent server restarts on its port: clients keep their address.
  if (!options_.persistent || port_ == 0) port_ = pick_port_pair();
  if (port_ == 0) return make_error(ErrorCode::kUnavailable, "no free port pair on 127.0.0.1");

  std::vector<std::string> args = {*binary,
                                   "server",
                                   "-dev",
                                   "-dev-root-token-id=" + options_.root_token,
                                   "-dev-listen-address=127.0.0.1:" + std::to_string(port_),
                                   "-dev-no-store-token"};
  if (options_.persistent) {
    const std::string hcl = run_dir_ + "/server.hcl";
    fs::create_directories(run_dir_ + "/data");
    // Integrated storage (raft), one node: OpenBao has no `file` backend.
    std::ofstream(hcl) << "storage \"raft\" {\n  path = \"" << run_dir_ << "/data\"\n"
                       << "  node_id = \"kenc-test\"\n}\n"
                       << "listener \"tcp\" {\n  address = \"127.0.0.1:" << port_ << "\"\n"
                       << "  cluster_address = \"127.0.0.1:" << port_ + 1 << "\"\n"
                       << "  tls_disable = true\n}\n"
                       << "api_addr = \"http://127.0.0.1:" << port_ << "\"\n"
                       << "cluster_addr = \"http://127.0.0.1:" << port_ + 1 << "\"\n";
    args = {*binary, "server", "-config=" + hcl};
  } else if (options_.tls) {
    fs::create_directories(run_dir_ + "/tls");
    args.push_back("-dev-tls");
    args.push_back("-dev-tls-cert-dir=" + run_dir_ + "/tls");
  }
  const std::string log = run_dir_ + "/server.log";
  // Everything the child needs is prepared before fork(): until it execs, a forked child of a
  // multi-threaded process must not allocate (setenv, vectors), or it can deadlock on a lock
  // another thread held at the fork.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.starts_with("HOME=") || entry.starts_with("VAULT_ADDR=") ||
        entry.starts_with("VAULT_TOKEN=")) {
      continue;
    }
    env.emplace_back(entry);
  }
  env.push_back("HOME=" + run_dir_);  // dev mode may write ~/.vault-token
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) return make_error(ErrorCode::kUnavailable, "fork failed");
  if (pid_ == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execve(argv[0], argv.data(), envp.data());
    static constexpr char kExecFailed[] = "execve failed\n";
    [[maybe_unused]] auto ignored = ::write(2, kExecFailed, sizeof kExecFailed - 1);
    ::_exit(127);
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      keep_logs_ = true;
      return make_error(ErrorCode::kUnavailable,
                        "KMS server exited at start; " + log + " ends with:\n" + tail_of_file(log));
    }
    auto health = call("GET", "sys/health");
    if (health.ok() && health->status == 200) break;
    // A persistent server answers 501 until initialised and 503 while sealed.
    if (options_.persistent && health.ok() && (health->status == 501 || health->status == 503)) {
      if (auto unsealed = init_and_unseal(); !unsealed.ok()) {
        keep_logs_ = true;
        return unsealed;
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      keep_logs_ = true;
      stop();
      return make_error(ErrorCode::kUnavailable, "KMS server not healthy after 60 s; see " + log +
                                                     ":\n" + tail_of_file(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (options_.persistent && transit_mounted_) return {};
  transit_mounted_ = true;
  return expect_ok(call("POST", "sys/mounts/transit", R"({"type":"transit"})"), "mount transit");
}

Status OpenBaoServer::init_and_unseal() {
  if (unseal_key_.empty()) {
    // Raft storage makes init slow (seconds on a busy machine); a retry would find it done.
    auto init = call("PUT", "sys/init", R"({"secret_shares":1,"secret_threshold":1})", nullptr,
                     std::chrono::seconds(90));
    if (auto status = expect_ok(init, "init"); !status.ok()) return status;
    auto answer = nlohmann::json::parse(init->body, nullptr, false);
    if (answer.is_discarded() || !answer.contains("keys_base64") ||
        !answer.contains("root_token")) {
      return make_error(ErrorCode::kInternal, "init: unexpected answer");
    }
    unseal_key_ = answer["keys_base64"][0].get<std::string>();
    options_.root_token = answer["root_token"].get<std::string>();
  }
  return expect_ok(call("PUT", "sys/unseal", nlohmann::json{{"key", unseal_key_}}.dump(), nullptr,
                        std::chrono::seconds(60)),
                   "unseal");
}

void OpenBaoServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

namespace {

// True when every thread of `pid` is in the stopped state ('T' in /proc/<pid>/task/*/stat).
bool all_threads_stopped(pid_t pid) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", ec);
  if (ec) {
    return false;
  }
  for (const auto& task : tasks) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // "tid (comm) S ...": the command may hold spaces and parentheses, the state follows the last
    // ')'.
    size_t close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'T') {
      return false;
    }
  }
  return true;
}

}  // namespace

void OpenBaoServer::pause() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGSTOP);
  // kill() returns before the signal has stopped every thread; a request sent in between would
  // still be answered (seen in CI: the "paused" server answered in 2 ms). Callers rely on the
  // server being hung when pause() returns.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!all_threads_stopped(pid_) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void OpenBaoServer::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

Result<OpenBaoServer::Reply> OpenBaoServer::call(const std::string& method, const std::string& path,
                                                 const std::string& json_body,
                                                 const std::string* token,
                                                 std::chrono::milliseconds timeout) {
  HttpRequest request;
  request.method = method;
  request.url = address() + "/v1/" + path;
  request.body = json_body;
  request.headers.push_back("X-Vault-Token: " + (token ? *token : options_.root_token));
  request.connect_timeout = std::chrono::milliseconds(1000);
  request.total_timeout = timeout;
  if (options_.tls) request.ca_file = ca_file();
  auto response = perform_http(request);
  if (!response.ok()) return response.error();
  return Reply{response->status, response->body};
}

Status OpenBaoServer::expect_ok(const Result<Reply>& reply, const std::string& what) {
  if (!reply.ok()) return make_error(reply.error().code, what + ": " + reply.error().message);
  if (reply->status != 200 && reply->status != 204) {
    return make_error(ErrorCode::kInternal,
                      what + ": HTTP " + std::to_string(reply->status) + " " + reply->body);
  }
  return {};
}

Status OpenBaoServer::create_key(const std::string& name, const std::string& type) {
  return expect_ok(call("POST", "transit/keys/" + name, nlohmann::json{{"type", type}}.dump()),
                   "create key " + name);
}

Status OpenBaoServer::rotate_key(const std::string& name) {
  return expect_ok(call("POST", "transit/keys/" + name + "/rotate", "{}"), "rotate key " + name);
}

Status OpenBaoServer::write_policy(const std::string& name, const std::string& hcl) {
  return expect_ok(call("PUT", "sys/policies/acl/" + name, nlohmann::json{{"policy", hcl}}.dump()),
                   "write policy " + name);
}

Status OpenBaoServer::enable_approle() {
  return expect_ok(call("POST", "sys/auth/approle", R"({"type":"approle"})"), "enable approle");
}

Result<std::pair<std::string, std::string>> OpenBaoServer::create_approle(
    const std::string& role, const std::vector<std::string>& policies, int token_ttl_s,
    int token_max_ttl_s) {
  const nlohmann::json body = {
      {"token_policies", policies}, {"token_ttl", token_ttl_s}, {"token_max_ttl", token_max_ttl_s}};
  if (auto s = expect_ok(call("POST", "auth/approle/role/" + role, body.dump()), "create role");
      !s.ok()) {
    return s.error();
  }
  auto role_id = call("GET", "auth/approle/role/" + role + "/role-id");
  if (auto s = expect_ok(role_id, "read role_id"); !s.ok()) return s.error();
  auto secret_id = call("POST", "auth/approle/role/" + role + "/secret-id", "{}");
  if (auto s = expect_ok(secret_id, "create secret_id"); !s.ok()) return s.error();
  const auto rid = nlohmann::json::parse(role_id->body, nullptr, false);
  const auto sid = nlohmann::json::parse(secret_id->body, nullptr, false);
  try {
    return std::make_pair(rid.at("data").at("role_id").get<std::string>(),
                          sid.at("data").at("secret_id").get<std::string>());
  } catch (const std::exception&) {
    return make_error(ErrorCode::kInternal, "unexpected AppRole answer");
  }
}

Result<std::string> OpenBaoServer::create_token(const std::vector<std::string>& policies) {
  const nlohmann::json body = {{"policies", policies}, {"no_default_policy", true}};
  auto reply = call("POST", "auth/token/create", body.dump());
  if (auto s = expect_ok(reply, "create token"); !s.ok()) return s.error();
  const auto doc = nlohmann::json::parse(reply->body, nullptr, false);
  try {
    return doc.at("auth").at("client_token").get<std::string>();
  } catch (const std::exception&) {
    return make_error(ErrorCode::kInternal, "unexpected token answer");
  }
}

OpenBaoEnvironment::OpenBaoEnvironment(OpenBaoOptions options) : options_(std::move(options)) {}

void OpenBaoEnvironment::SetUp() {
  g_server = new OpenBaoServer(options_);
  const Status started = g_server->start();
  g_ready = started.ok();
  if (!g_ready) {
    g_failure = "the test world's KMS server did not start: " + started.error().to_string();
    // Non-fatal, so that gtest still runs the tests and each one fails with this reason.
    ADD_FAILURE() << g_failure;
  }
}

void OpenBaoEnvironment::TearDown() {
  if (g_server == nullptr) return;
  if (::testing::UnitTest::GetInstance()->Failed()) g_server->keep_logs();
  delete g_server;
  g_server = nullptr;
}

OpenBaoServer& OpenBaoEnvironment::server() { return *g_server; }
bool OpenBaoEnvironment::ready() { return g_ready; }
const std::string& OpenBaoEnvironment::failure() { return g_failure; }

}  // namespace kenc::testworld
