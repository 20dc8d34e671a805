#include "keybroker/dek/unwrap_cache.h"

namespace kenc::keybroker::dek {

UnwrapCache::Entry UnwrapCache::find(const std::string& edek, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = index_.find(edek);
  if (it == index_.end()) {
    return nullptr;
  }
  if (now - it->second->inserted >= ttl_) {
    lru_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->dek;
}

void UnwrapCache::insert(const std::string& edek, Entry dek, Clock::time_point now) {
  if (capacity_ == 0) {
    return;
  }
  std::lock_guard lock(mu_);
  auto it = index_.find(edek);
  if (it != index_.end()) {
    it->second->dek = std::move(dek);
    it->second->inserted = now;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Slot{edek, std::move(dek), now});
  index_.emplace(edek, lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().edek);
    lru_.pop_back();
  }
}

size_t UnwrapCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace kenc::keybroker::dek
