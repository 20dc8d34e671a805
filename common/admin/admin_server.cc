#include "common/admin/admin_server.h"

#include <asio.hpp>
#include <atomic>
#include <string_view>
#include <thread>

namespace kenc::admin {
namespace {

using asio::ip::tcp;

struct Response {
  int status = 200;
  const char* reason = "OK";
  const char* content_type = "text/plain; charset=utf-8";
  std::string body;
};

std::string serialize(const Response& r, bool with_body) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + r.reason + "\r\n";
  out += "Content-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (r.status == 405) {
    out += "Allow: GET, HEAD\r\n";
  }
  out += "Connection: close\r\n\r\n";
  if (with_body) {
    out += r.body;
  }
  return out;
}

}  // namespace

struct AdminServer::Impl {
  AdminServerOptions options;
  const MetricsRegistry& registry;
  std::function<bool()> is_ready;
  // Declared before io: sessions still pending when io is destroyed touch open_connections.
  size_t open_connections = 0;  // only touched on the io thread
  std::atomic<uint16_t> port{0};
  bool started = false;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;

  Impl(AdminServerOptions o, const MetricsRegistry& r, std::function<bool()> ready)
      : options(std::move(o)), registry(r), is_ready(std::move(ready)) {}

  Response route(std::string_view method, std::string_view target) const {
    if (auto q = target.find('?'); q != std::string_view::npos) {
      target = target.substr(0, q);
    }
    Response r;
    if (method != "GET" && method != "HEAD") {
      r.status = 405;
      r.reason = "Method Not Allowed";
      r.body = "method not allowed\n";
    } else if (target == "/metrics") {
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = registry.render();
    } else if (target == "/livez") {
      r.body = "ok\n";
    } else if (target == "/readyz") {
      if (is_ready && is_ready()) {
        r.body = "ready\n";
      } else {
        r.status = 503;
        r.reason = "Service Unavailable";
        r.body = "not ready\n";
      }
    } else {
      r.status = 404;
      r.reason = "Not Found";
      r.body = "not found\n";
    }
    return r;
  }

  asio::awaitable<void> session(tcp::socket socket) {
    // open_connections was counted by the accept loop, before this coroutine first ran.
    struct Release {
      size_t& n;
      ~Release() { --n; }
    } release{open_connections};

    // The deadline closes the socket, which fails whatever read or write is pending.
    asio::steady_timer deadline(io);
    deadline.expires_after(options.request_timeout);
    deadline.async_wait([&socket](std::error_code ec) {
      if (!ec) {
        std::error_code ignored;
        socket.close(ignored);
      }
    });

    std::error_code ec;
    std::string request;
    co_await asio::async_read_until(socket,
                                    asio::dynamic_buffer(request, options.max_request_bytes),
                                    "\r\n\r\n", asio::redirect_error(asio::use_awaitable, ec));
    Response response;
    bool with_body = true;
    if (ec == asio::error::not_found) {  // the size limit was hit before the end of headers
      response.status = 431;
      response.reason = "Request Header Fields Too Large";
      response.body = "request too large\n";
    } else if (ec) {
      deadline.cancel();
      co_return;  // timed out, reset or closed: nobody to answer
    } else {
      std::string_view line(request.data(), request.find("\r\n"));
      size_t sp1 = line.find(' ');
      size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos || line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
        response.status = 400;
        response.reason = "Bad Request";
        response.body = "bad request\n";
      } else {
        std::string_view method = line.substr(0, sp1);
        response = route(method, line.substr(sp1 + 1, sp2 - sp1 - 1));
        with_body = method != "HEAD";
      }
    }
    std::string bytes = serialize(response, with_body);
    co_await asio::async_write(socket, asio::buffer(bytes),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      socket.shutdown(tcp::socket::shutdown_send, ec);
    }
    deadline.cancel();
  }

  asio::awaitable<void> accept_loop() {
    while (acceptor.is_open()) {
      std::error_code ec;
      tcp::socket socket =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
          co_return;
        }
        continue;  // e.g. too many open files: keep serving the others
      }
      if (open_connections >= options.max_connections) {
        socket.close(ec);
        continue;
      }
      ++open_connections;
      asio::co_spawn(io, session(std::move(socket)), asio::detached);
    }
  }
};

AdminServer::AdminServer(AdminServerOptions options, const MetricsRegistry& registry,
                         std::function<bool()> is_ready)
    : impl_(std::make_unique<Impl>(std::move(options), registry, std::move(is_ready))) {}

AdminServer::~AdminServer() { stop(); }

Status AdminServer::start() {
  if (impl_->started) {
    return make_error(ErrorCode::kInvalidArgument, "admin server already started");
  }
  std::error_code ec;
  auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      "admin address '" + impl_->options.address + "' is not an IP address");
  }
  tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    std::error_code ignored;
    acceptor.close(ignored);
    return make_error(ErrorCode::kUnavailable, "cannot listen on " + impl_->options.address + ":" +
                                                   std::to_string(impl_->options.port) + ": " +
                                                   ec.message());
  }
  impl_->port = acceptor.local_endpoint().port();
  impl_->started = true;
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  return Status::Ok();
}

void AdminServer::stop() {
  if (!impl_ || !impl_->started) {
    return;
  }
  impl_->started = false;
  impl_->io.stop();
  if (impl_->thread.joinable()) {
    impl_->thread.join();
  }
  std::error_code ignored;
  impl_->acceptor.close(ignored);
}

uint16_t AdminServer::port() const { return impl_->port.load(); }

}  // namespace kenc::admin
