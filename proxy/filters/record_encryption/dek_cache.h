#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/base/result.h"
#include "common/crypto/secure_bytes.h"

namespace kenc::record_encryption {

// A decrypted data key. Shared by the cache and whoever is using it right now; the key bytes
// are wiped (SecureBytes) when the last holder lets go, so eviction never pulls a key from
// under a decryption in progress, and nothing keeps a key alive longer than that.
struct Dek {
  uint64_t id = 0;  // unique in this process, never reused: names the DEK in per-thread caches
  crypto::SecureBytes key;
};
using DekPtr = std::shared_ptr<const Dek>;

// A fresh Dek::id (process-wide counter).
uint64_t next_dek_id();

// The caller-supplied unwrap (the key broker's UnwrapEdek call). It must call `done` exactly
// once, from any thread, now or later. `edek` is valid only during the call: copy it if the
// request outlives it. `topic` is the topic of the lookup that caused the unwrap (for the key
// broker's audit log; coalesced lookups share the first one's).
using UnwrapDone = std::function<void(Result<crypto::SecureBytes>)>;
using UnwrapFn =
    std::function<void(std::span<const uint8_t> edek, const std::string& topic, UnwrapDone done)>;
using DekDone = std::function<void(Result<DekPtr>)>;

struct DekCacheOptions {
  size_t max_entries = 10000;
  // A DEK not used for this long is dropped (and so wiped once no one holds it).
  std::chrono::milliseconds idle_ttl = std::chrono::minutes(10);
  // Failures that retrying cannot fix soon (kNotFound: KEK deleted, kPermissionDenied,
  // kInvalidArgument/kDataLoss: the KMS rejects the EDEK) are remembered this long, so a
  // topic full of undecryptable records does not send one unwrap per fetch to the key broker.
  // Retriable failures (kUnavailable, kDeadlineExceeded, kInternal) are never remembered:
  // the next fetch retries at once. 0 disables negative caching.
  std::chrono::milliseconds negative_ttl = std::chrono::seconds(5);
  // For tests: the clock. Defaults to std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> now;
};

// Decrypted DEKs keyed by their EDEK bytes: LRU-bounded by max_entries, with an idle TTL.
// Misses for one EDEK that overlap in time are coalesced into ONE unwrap whose result goes to
// every waiter. Thread-safe: any Asio worker thread may call get(). Callbacks run on the
// thread that completes the unwrap (or inline on a hit): a caller that must continue on its
// own io_context posts there from the callback.
class DekCache {
 public:
  DekCache(DekCacheOptions options, UnwrapFn unwrap);
  ~DekCache();
  DekCache(const DekCache&) = delete;
  DekCache& operator=(const DekCache&) = delete;

  // Calls `done` with the DEK for `edek`: inline when cached, else after the unwrap.
  void get(std::span<const uint8_t> edek, DekDone done) {
    get(edek, std::string(), std::move(done));
  }
  void get(std::span<const uint8_t> edek, const std::string& topic, DekDone done);
  // Adds a DEK whose EDEK is known without an unwrap (a lease this proxy was just granted), so
  // fetches of records it produced need no key-broker call. `key` must be 32 bytes.
  void insert(std::span<const uint8_t> edek, DekPtr dek);
  // The cached DEK or nullptr, never unwrapping: the synchronous fast path.
  DekPtr find(std::span<const uint8_t> edek);
  // Drops entries idle longer than idle_ttl and expired negative entries (call from a
  // periodic timer; lookups also drop the expired entry they find).
  void evict_idle();

  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;   // lookups that had to wait for an unwrap
    uint64_t unwraps = 0;  // unwrap calls made (misses minus coalesced ones)
    uint64_t unwrap_failures = 0;
    uint64_t negative_hits = 0;  // answered from a remembered failure
    uint64_t evictions = 0;      // by size or idleness
    size_t entries = 0;
  };
  Stats stats() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with in-flight unwrap completions
};

}  // namespace kenc::record_encryption
