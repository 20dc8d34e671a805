#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace kenc::testing {

// A TCP relay on 127.0.0.1 that forwards every connection to an upstream port and records the
// bytes of both directions, so tests can check real clients' requests and real brokers'
// responses. The upstream port may be set after the relay starts listening (a broker that must
// advertise the relay's address is started after the relay); connections wait for it.
class RecordingRelay {
 public:
  struct Connection {
    std::vector<uint8_t> client_to_server;
    std::vector<uint8_t> server_to_client;
  };

  RecordingRelay();  // listens on a free port
  ~RecordingRelay();
  RecordingRelay(const RecordingRelay&) = delete;
  RecordingRelay& operator=(const RecordingRelay&) = delete;

  int port() const { return port_; }
  void set_upstream_port(int port) { upstream_port_ = port; }
  // Stops accepting, closes every connection and returns what each one carried.
  std::vector<Connection> stop();

 private:
  void accept_loop();
  void relay(int client_fd, size_t index);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> upstream_port_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace kenc::testing
