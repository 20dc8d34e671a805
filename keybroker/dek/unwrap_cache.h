#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "keybroker/dek/unwrapped_dek.h"

namespace kenc::keybroker::dek {

// Unwrapped DEKs by serialized EDEK: bounded in entries (least recently used goes first) and in
// age (an entry older than `ttl` is dropped on lookup). Entries are shared, immutable DEKs: when
// the cache drops one and no request still uses it, its SecureBytes wipes the key.
class UnwrapCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Entry = std::shared_ptr<const UnwrappedDek>;

  UnwrapCache(size_t capacity, Clock::duration ttl) : capacity_(capacity), ttl_(ttl) {}

  Entry find(const std::string& edek, Clock::time_point now);
  void insert(const std::string& edek, Entry dek, Clock::time_point now);
  size_t size() const;

 private:
  struct Slot {
    std::string edek;
    Entry dek;
    Clock::time_point inserted;
  };

  const size_t capacity_;
  const Clock::duration ttl_;
  mutable std::mutex mu_;
  std::list<Slot> lru_;  // front = most recently used
  std::unordered_map<std::string, std::list<Slot>::iterator> index_;
};

}  // namespace kenc::keybroker::dek
