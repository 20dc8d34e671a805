#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace kenc::proxy {

class Connection;

// The open connections of a process, for draining on shutdown. Thread-safe.
class ConnectionTracker {
 public:
  void add(const std::shared_ptr<Connection>& connection);
  void remove(const Connection* connection);
  size_t count() const;
  // Asks every open connection to close (each on its own worker thread).
  void close_all();

 private:
  mutable std::mutex mutex_;
  std::unordered_map<const Connection*, std::weak_ptr<Connection>> open_;
};

}  // namespace kenc::proxy
