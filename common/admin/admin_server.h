#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/admin/metrics.h"
#include "common/base/result.h"

namespace kenc::admin {

struct AdminServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port (tests); port() tells which
  // A request (request line + headers) larger than this gets 431 and the connection closes.
  size_t max_request_bytes = size_t{8} * 1024;
  // A client that has not sent a full request and read the answer by then is disconnected.
  std::chrono::milliseconds request_timeout{5000};
  // Connections beyond this are closed at once, so a flood cannot exhaust the process.
  size_t max_connections = 64;
};

// The admin HTTP/1.1 endpoint of both daemons, on its own thread and io_context so a busy
// data path never delays a health check:
//   GET /metrics  -> 200, the registry in Prometheus text format
//   GET /livez    -> 200 "ok" while the process runs
//   GET /readyz   -> 200 "ready" or 503 "not ready", from the readiness callback
//   other paths 404, other methods 405 (HEAD is answered like GET, without a body).
// One request per connection (`Connection: close`): scrapers and probes need no more.
class AdminServer {
 public:
  // `is_ready` runs on the admin thread: it must be thread-safe (an atomic flag is typical).
  // A null callback means "never ready".
  AdminServer(AdminServerOptions options, const MetricsRegistry& registry,
              std::function<bool()> is_ready);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts serving. Errors (address in use, bad address) come back as values.
  Status start();
  // Stops serving and joins the thread; idempotent, also done by the destructor.
  void stop();
  // The bound port, valid after a successful start().
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kenc::admin
