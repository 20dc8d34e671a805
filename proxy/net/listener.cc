#include "proxy/net/listener.h"

#include <fcntl.h>
#include <glog/logging.h>

#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <future>

namespace kenc::proxy {

Listener::Listener(WorkerPool& workers, std::shared_ptr<const ConnectionEnv> env,
                   asio::ssl::context* client_tls)
    : workers_(workers), env_(std::move(env)), client_tls_(client_tls) {}

Listener::~Listener() { stop(); }

Status Listener::start(const HostPort& address) {
  std::error_code ec;
  asio::ip::tcp::resolver resolver(workers_.at(0));
  auto results = resolver.resolve(address.host, std::to_string(address.port),
                                  asio::ip::tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "cannot resolve listen address " +
                                                       address.to_string() +
                                                       (ec ? ": " + ec.message() : std::string()));
  }
  const auto endpoint = results.begin()->endpoint();
  auto acceptor = std::make_shared<asio::ip::tcp::acceptor>(workers_.at(0));
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor->bind(endpoint, ec);
  }
  if (!ec) {
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot listen on " + address.to_string() + ": " + ec.message());
  }
  const int fd = acceptor->native_handle();
  ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
  port_ = acceptor->local_endpoint().port();
  acceptor_ = std::move(acceptor);
  asio::post(workers_.at(0), [this, acceptor = acceptor_] { accept_next(acceptor); });
  return Status::Ok();
}

void Listener::accept_next(const std::shared_ptr<asio::ip::tcp::acceptor>& acceptor) {
  if (!acceptor->is_open()) {
    return;
  }
  asio::io_context& worker = workers_.next();
  acceptor->async_accept(
      worker, [this, acceptor, &worker](std::error_code ec, asio::ip::tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) {
          return;
        }
        if (ec) {
          LOG(WARNING) << "accept failed: " << ec.message();
        } else {
          asio::post(worker, [socket = std::move(socket), env = env_, tls = client_tls_]() mutable {
            Connection::create(std::move(socket), tls, env)->start();
          });
        }
        accept_next(acceptor);
      });
}

void Listener::stop() {
  auto acceptor = acceptor_;
  if (!acceptor) {
    return;
  }
  acceptor_.reset();
  if (workers_.at(0).stopped()) {
    std::error_code ignored;
    acceptor->close(ignored);
    return;
  }
  // The acceptor belongs to worker 0's thread: close it there and wait.
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  asio::post(workers_.at(0), [acceptor, done] {
    std::error_code ignored;
    acceptor->close(ignored);
    done->set_value();
  });
  future.wait();
}

}  // namespace kenc::proxy
