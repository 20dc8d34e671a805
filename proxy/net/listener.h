#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <memory>

#include "common/base/result.h"
#include "proxy/net/connection.h"
#include "proxy/net/host_port.h"
#include "proxy/net/worker_pool.h"

namespace kenc::proxy {

// Accepts client connections on one address and hands each to a worker, where it is paired
// with a fresh connection to the virtual cluster's broker. The acceptor runs on worker 0.
class Listener {
 public:
  // `client_tls` (null: plain) must outlive the listener, as must `workers`.
  Listener(WorkerPool& workers, std::shared_ptr<const ConnectionEnv> env,
           asio::ssl::context* client_tls);
  ~Listener();

  // Binds and starts accepting. Port 0 picks a free port; see port().
  Status start(const HostPort& address);
  uint16_t port() const { return port_; }
  // Stops accepting new connections (thread-safe; open connections are unaffected).
  void stop();

 private:
  void accept_next(const std::shared_ptr<asio::ip::tcp::acceptor>& acceptor);

  WorkerPool& workers_;
  std::shared_ptr<const ConnectionEnv> env_;
  asio::ssl::context* client_tls_;
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
};

}  // namespace kenc::proxy
