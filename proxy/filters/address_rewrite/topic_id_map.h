#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/kafka/protocol/types.h"

namespace kenc::proxy::address_rewrite {

// Topic id -> topic name, learned from Metadata responses (v10+ carry both), for APIs that
// address topics by id only (Produce v13+, Fetch v13+). Thread-safe; one per virtual cluster.
class TopicIdMap {
 public:
  void learn(const kafka::Uuid& id, const std::string& name) {
    static constexpr kafka::Uuid kZero{};
    if (id == kZero || name.empty()) {
      return;  // older Metadata versions report no id
    }
    std::lock_guard lock(mutex_);
    names_[id] = name;
  }
  std::optional<std::string> name(const kafka::Uuid& id) const {
    std::lock_guard lock(mutex_);
    auto it = names_.find(id);
    if (it == names_.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  size_t size() const {
    std::lock_guard lock(mutex_);
    return names_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::map<kafka::Uuid, std::string> names_;
};

}  // namespace kenc::proxy::address_rewrite
