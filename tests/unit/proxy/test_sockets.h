#pragma once

// Minimal blocking POSIX sockets on 127.0.0.1 for the proxy's unit tests: a fake broker and a
// raw Kafka client that speak frames, so tests control exactly when each side reads.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kenc::proxy::testing {

inline void put16(std::vector<uint8_t>& out, int16_t v) {
  out.push_back(static_cast<uint8_t>(static_cast<uint16_t>(v) >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
inline void put32(std::vector<uint8_t>& out, int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(u >> shift));
  }
}
inline int32_t get32(const uint8_t* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}

// A request frame: size, api key, version, correlation id, null client id, then `body`.
inline std::vector<uint8_t> request_frame(int16_t api_key, int16_t version, int32_t correlation_id,
                                          const std::vector<uint8_t>& body = {}) {
  std::vector<uint8_t> payload;
  put16(payload, api_key);
  put16(payload, version);
  put32(payload, correlation_id);
  put16(payload, -1);
  payload.insert(payload.end(), body.begin(), body.end());
  std::vector<uint8_t> frame;
  put32(frame, static_cast<int32_t>(payload.size()));
  frame.insert(frame.end(), payload.begin(), payload.end());
  return frame;
}

// A Produce v3..v8 body prefix: null transactional id, acks, timeout, no topics.
inline std::vector<uint8_t> produce_body(int16_t acks) {
  std::vector<uint8_t> body;
  put16(body, -1);
  put16(body, acks);
  put32(body, 30000);
  put32(body, 0);
  return body;
}

// A response frame: size, correlation id, then `body`.
inline std::vector<uint8_t> response_frame(int32_t correlation_id,
                                           const std::vector<uint8_t>& body) {
  std::vector<uint8_t> frame;
  put32(frame, static_cast<int32_t>(4 + body.size()));
  put32(frame, correlation_id);
  frame.insert(frame.end(), body.begin(), body.end());
  return frame;
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd_ = o.fd_;
    o.fd_ = -1;
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = -1;
  }
  // Unblocks a thread stuck in accept/read on this descriptor.
  void shutdown() const {
    if (fd_ >= 0) {
      ::shutdown(fd_, SHUT_RDWR);
    }
  }

 private:
  int fd_ = -1;
};

inline Fd listen_loopback(uint16_t& port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

inline Fd connect_loopback(uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

inline bool write_all(int fd, const std::vector<uint8_t>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

// Waits up to `timeout_ms` for the descriptor to be readable.
inline bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

inline bool read_exact(int fd, uint8_t* out, size_t n, int timeout_ms) {
  size_t done = 0;
  while (done < n) {
    if (!readable(fd, timeout_ms)) {
      return false;
    }
    const ssize_t r = ::recv(fd, out + done, n - done, 0);
    if (r <= 0) {
      return false;
    }
    done += static_cast<size_t>(r);
  }
  return true;
}

// Reads one frame (with its size prefix); empty optional on EOF, error or timeout.
inline std::optional<std::vector<uint8_t>> read_frame(int fd, int timeout_ms = 10000) {
  std::vector<uint8_t> frame(4);
  if (!read_exact(fd, frame.data(), 4, timeout_ms)) {
    return std::nullopt;
  }
  const int32_t size = get32(frame.data());
  if (size < 0) {
    return std::nullopt;
  }
  frame.resize(4 + static_cast<size_t>(size));
  if (!read_exact(fd, frame.data() + 4, static_cast<size_t>(size), timeout_ms)) {
    return std::nullopt;
  }
  return frame;
}

// True when the peer closed the connection (EOF or reset) within `timeout_ms`.
inline bool peer_closed(int fd, int timeout_ms) {
  if (!readable(fd, timeout_ms)) {
    return false;
  }
  uint8_t byte = 0;
  return ::recv(fd, &byte, 1, MSG_PEEK) <= 0;
}

// A fake broker for unit tests: accepts connections and answers each request frame with what
// `respond` returns (nothing: no answer). Records every request frame it received.
class FakeBroker {
 public:
  using Responder =
      std::function<std::optional<std::vector<uint8_t>>(const std::vector<uint8_t>& request)>;

  explicit FakeBroker(Responder respond) : respond_(std::move(respond)) {
    listen_ = listen_loopback(port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeBroker() { stop(); }

  uint16_t port() const { return port_; }

  void stop() {
    stopping_ = true;
    listen_.shutdown();
    {
      std::lock_guard lock(mutex_);
      for (int fd : client_fds_) {
        ::shutdown(fd, SHUT_RDWR);
      }
    }
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  std::vector<std::vector<uint8_t>> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  size_t received_count() {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  int connections() const { return connections_; }

  // Closes every accepted connection from the broker side.
  void drop_connections() {
    std::lock_guard lock(mutex_);
    for (int fd : client_fds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }

 private:
  void serve() {
    std::vector<std::thread> handlers;
    while (!stopping_) {
      const int fd = ::accept(listen_.get(), nullptr, nullptr);
      if (fd < 0) {
        break;
      }
      ++connections_;
      {
        std::lock_guard lock(mutex_);
        client_fds_.push_back(fd);
      }
      handlers.emplace_back([this, fd] {
        Fd owned(fd);
        while (auto frame = read_frame(fd, 60000)) {
          {
            std::lock_guard lock(mutex_);
            received_.push_back(*frame);
          }
          if (auto response = respond_(*frame)) {
            if (!write_all(fd, *response)) {
              break;
            }
          }
        }
        std::lock_guard lock(mutex_);
        std::erase(client_fds_, fd);
      });
    }
    for (auto& t : handlers) {
      t.join();
    }
  }

  Responder respond_;
  uint16_t port_ = 0;
  Fd listen_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<int> client_fds_;
  std::vector<std::vector<uint8_t>> received_;
};

// Echoes each request's correlation id with `body` appended (the usual responder).
inline FakeBroker::Responder answer_with(std::vector<uint8_t> body) {
  return [body](const std::vector<uint8_t>& request) -> std::optional<std::vector<uint8_t>> {
    return response_frame(get32(request.data() + 8), body);
  };
}

}  // namespace kenc::proxy::testing
