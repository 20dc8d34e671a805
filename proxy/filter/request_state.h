#pragma once

#include <memory>
#include <utility>
#include <vector>

namespace kenc::proxy {

// What the filters remember about one request until its response arrives, e.g. the partitions
// a filter answered itself and must add back into the broker's response. The connection keeps
// it with the in-flight request, so it lives exactly as long as the request (a closed
// connection drops it; nothing is left behind in the filter). Each filter keys its entry by
// itself (`this`). Touched only on the connection's thread.
//
// A connection also keeps one for as long as it lives (RequestContext::connection_state), for
// what filters remember across requests.
class RequestState {
 public:
  void put(const void* owner, std::shared_ptr<void> value) {
    for (auto& [key, slot] : slots_) {
      if (key == owner) {
        slot = std::move(value);
        return;
      }
    }
    slots_.emplace_back(owner, std::move(value));
  }

  template <typename T>
  std::shared_ptr<T> get(const void* owner) const {
    for (const auto& [key, slot] : slots_) {
      if (key == owner) {
        return std::static_pointer_cast<T>(slot);
      }
    }
    return nullptr;
  }

 private:
  std::vector<std::pair<const void*, std::shared_ptr<void>>> slots_;
};

}  // namespace kenc::proxy
