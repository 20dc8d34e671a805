#include "proxy/filters/record_encryption/dek_cache.h"

#include <atomic>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/crypto/aes_gcm.h"

namespace kenc::record_encryption {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<uint64_t> dek_ids{1};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

std::string_view as_key(std::span<const uint8_t> edek) {
  return {reinterpret_cast<const char*>(edek.data()), edek.size()};
}

bool remember_failure(ErrorCode code) {
  return code == ErrorCode::kNotFound || code == ErrorCode::kPermissionDenied ||
         code == ErrorCode::kInvalidArgument || code == ErrorCode::kDataLoss;
}

}  // namespace

uint64_t next_dek_id() { return dek_ids.fetch_add(1, std::memory_order_relaxed); }

struct DekCache::State {
  DekCacheOptions options;
  UnwrapFn unwrap;

  struct Entry {
    std::string edek;
    DekPtr dek;
    Clock::time_point last_used;
  };
  struct Negative {
    Error error;
    Clock::time_point expires;
  };

  std::mutex mutex;
  std::list<Entry> lru;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator, StringHash, std::equal_to<>> index;
  std::unordered_map<std::string, std::vector<DekDone>, StringHash, std::equal_to<>> pending;
  std::unordered_map<std::string, Negative, StringHash, std::equal_to<>> negative;
  Stats stats;

  Clock::time_point now() const { return options.now ? options.now() : Clock::now(); }

  // Under the lock: the live entry for `key` (moved to the front), or nullptr.
  DekPtr lookup_locked(std::string_view key, Clock::time_point t) {
    auto it = index.find(key);
    if (it == index.end()) {
      return nullptr;
    }
    auto entry = it->second;
    if (t - entry->last_used > options.idle_ttl) {
      index.erase(it);
      lru.erase(entry);
      ++stats.evictions;
      return nullptr;
    }
    entry->last_used = t;
    lru.splice(lru.begin(), lru, entry);
    return entry->dek;
  }

  void insert_locked(const std::string& key, DekPtr dek, Clock::time_point t) {
    if (options.max_entries == 0) {
      return;
    }
    if (auto it = index.find(key); it != index.end()) {
      lru.erase(it->second);
      index.erase(it);
    }
    lru.push_front(Entry{key, std::move(dek), t});
    index.emplace(key, lru.begin());
    while (lru.size() > options.max_entries) {
      index.erase(lru.back().edek);
      lru.pop_back();
      ++stats.evictions;
    }
  }

  void complete(const std::string& key, Result<crypto::SecureBytes> result) {
    Result<DekPtr> outcome = make_error(ErrorCode::kInternal, "unset");
    if (result.ok() && result->size() != crypto::kAes256KeyBytes) {
      outcome = make_error(ErrorCode::kInternal, "unwrapped DEK is not 32 bytes");
    } else if (result.ok()) {
      auto dek = std::make_shared<Dek>();
      dek->id = next_dek_id();
      dek->key = std::move(result).value();
      outcome = DekPtr(std::move(dek));
    } else {
      outcome = result.error();
    }

    std::vector<DekDone> waiters;
    {
      std::lock_guard lock(mutex);
      auto it = pending.find(key);
      if (it != pending.end()) {
        waiters = std::move(it->second);
        pending.erase(it);
      }
      Clock::time_point t = now();
      if (outcome.ok()) {
        insert_locked(key, *outcome, t);
      } else {
        ++stats.unwrap_failures;
        if (options.negative_ttl.count() > 0 && remember_failure(outcome.error().code)) {
          if (negative.size() >= options.max_entries) {
            negative.clear();
          }
          negative[key] = Negative{outcome.error(), t + options.negative_ttl};
        }
      }
    }
    for (auto& waiter : waiters) {
      waiter(outcome);
    }
  }
};

DekCache::DekCache(DekCacheOptions options, UnwrapFn unwrap) : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  state_->unwrap = std::move(unwrap);
}

DekCache::~DekCache() = default;

DekPtr DekCache::find(std::span<const uint8_t> edek) {
  std::lock_guard lock(state_->mutex);
  DekPtr dek = state_->lookup_locked(as_key(edek), state_->now());
  if (dek) {
    ++state_->stats.hits;
  }
  return dek;
}

void DekCache::get(std::span<const uint8_t> edek, const std::string& topic, DekDone done) {
  State& s = *state_;
  std::string_view key = as_key(edek);
  std::unique_lock lock(s.mutex);
  Clock::time_point t = s.now();
  if (DekPtr dek = s.lookup_locked(key, t)) {
    ++s.stats.hits;
    lock.unlock();
    done(std::move(dek));
    return;
  }
  if (auto neg = s.negative.find(key); neg != s.negative.end()) {
    if (t < neg->second.expires) {
      ++s.stats.negative_hits;
      Error error = neg->second.error;
      lock.unlock();
      done(std::move(error));
      return;
    }
    s.negative.erase(neg);
  }
  ++s.stats.misses;
  if (auto it = s.pending.find(key); it != s.pending.end()) {
    it->second.push_back(std::move(done));  // coalesced into the unwrap in flight
    return;
  }
  std::string owned_key(key);
  s.pending[owned_key].push_back(std::move(done));
  ++s.stats.unwraps;
  lock.unlock();

  // The unwrap runs without the lock: it may complete inline, on this thread. The completion
  // holds the state, so it is safe even if the cache is destroyed first.
  auto once = std::make_shared<std::atomic<bool>>(false);
  s.unwrap(edek, topic,
           [state = state_, key = std::move(owned_key),
            once](Result<crypto::SecureBytes> result) mutable {
             if (once->exchange(true)) {
               return;  // a second call of done is ignored
             }
             state->complete(key, std::move(result));
           });
}

void DekCache::insert(std::span<const uint8_t> edek, DekPtr dek) {
  if (!dek || dek->key.size() != crypto::kAes256KeyBytes) {
    return;
  }
  std::lock_guard lock(state_->mutex);
  state_->negative.erase(std::string(as_key(edek)));
  state_->insert_locked(std::string(as_key(edek)), std::move(dek), state_->now());
}

void DekCache::evict_idle() {
  std::lock_guard lock(state_->mutex);
  State& s = *state_;
  Clock::time_point t = s.now();
  while (!s.lru.empty() && t - s.lru.back().last_used > s.options.idle_ttl) {
    s.index.erase(s.lru.back().edek);
    s.lru.pop_back();
    ++s.stats.evictions;
  }
  std::erase_if(s.negative, [t](const auto& kv) { return kv.second.expires <= t; });
}

DekCache::Stats DekCache::stats() const {
  std::lock_guard lock(state_->mutex);
  Stats out = state_->stats;
  out.entries = state_->lru.size();
  return out;
}

}  // namespace kenc::record_encryption
