#include "proxy/net/connection_tracker.h"

#include <vector>

#include "proxy/net/connection.h"

namespace kenc::proxy {

void ConnectionTracker::add(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mutex_);
  open_.emplace(connection.get(), connection);
}

void ConnectionTracker::remove(const Connection* connection) {
  std::lock_guard lock(mutex_);
  open_.erase(connection);
}

size_t ConnectionTracker::count() const {
  std::lock_guard lock(mutex_);
  return open_.size();
}

void ConnectionTracker::close_all() {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto& [ptr, weak] : open_) {
      if (auto c = weak.lock()) {
        live.push_back(std::move(c));
      }
    }
  }
  for (auto& c : live) {
    c->close_from_any_thread();
  }
}

}  // namespace kenc::proxy
