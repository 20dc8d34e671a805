#include "tests/integration/protocol/recording_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace kenc::testing {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

RecordingRelay::RecordingRelay() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback(0);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("relay: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

RecordingRelay::~RecordingRelay() { stop(); }

void RecordingRelay::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      continue;
    }
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      continue;
    }
    std::lock_guard lock(mu_);
    connections_.push_back(std::make_unique<Connection>());
    size_t index = connections_.size() - 1;
    threads_.emplace_back([this, fd, index] { relay(fd, index); });
  }
}

void RecordingRelay::relay(int client_fd, size_t index) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (upstream_port_ == 0 && !stopping_ && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int server_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(upstream_port_);
  if (upstream_port_ == 0 ||
      ::connect(server_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(server_fd);
    ::close(client_fd);
    return;
  }
  int one = 1;
  ::setsockopt(server_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  pollfd fds[2] = {{client_fd, POLLIN, 0}, {server_fd, POLLIN, 0}};
  uint8_t buf[65536];
  while (!stopping_) {
    if (::poll(fds, 2, 100) <= 0) {
      continue;
    }
    bool closed = false;
    for (int i = 0; i < 2; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        closed = true;
        break;
      }
      {
        std::lock_guard lock(mu_);
        auto& log =
            i == 0 ? connections_[index]->client_to_server : connections_[index]->server_to_client;
        log.insert(log.end(), buf, buf + n);
      }
      int out = i == 0 ? server_fd : client_fd;
      for (ssize_t sent = 0; sent < n;) {
        ssize_t w = ::write(out, buf + sent, static_cast<size_t>(n - sent));
        if (w <= 0) {
          closed = true;
          break;
        }
        sent += w;
      }
    }
    if (closed) {
      break;
    }
  }
  ::close(server_fd);
  ::close(client_fd);
}

std::vector<RecordingRelay::Connection> RecordingRelay::stop() {
  if (!stopping_.exchange(true)) {
    if (acceptor_.joinable()) {
      acceptor_.join();
    }
    for (auto& t : threads_) {
      t.join();
    }
    ::close(listen_fd_);
  }
  std::lock_guard lock(mu_);
  std::vector<Connection> out;
  for (auto& c : connections_) {
    out.push_back(std::move(*c));
  }
  connections_.clear();
  return out;
}

}  // namespace kenc::testing
