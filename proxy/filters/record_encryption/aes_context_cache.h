#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>

#include "common/base/result.h"
#include "common/crypto/aes_gcm.h"
#include "proxy/filters/record_encryption/dek_cache.h"

namespace kenc::record_encryption {

// One worker thread's AES-GCM contexts, one per DEK it recently used, so the key schedule is
// computed once per (thread, DEK) instead of once per record. Not thread-safe by design: use
// for_this_thread() (or one instance per io_context thread).
//
// An entry holds only a weak reference to its DEK: once the DekCache evicts the DEK and
// nobody else holds it, the next lookup or insert here frees the context (and with it the
// expanded key). At most `capacity` contexts are kept, least recently used first out.
class AesContextCache {
 public:
  explicit AesContextCache(size_t capacity = 64) : capacity_(capacity) {}

  // The decryptor (encryptor) for `dek`, created on first use. The pointer stays valid until
  // the next call on this cache.
  Result<crypto::AesGcmDecryptor*> decryptor(const DekPtr& dek);
  Result<crypto::AesGcmEncryptor*> encryptor(const DekPtr& dek);

  // Frees the contexts of DEKs nobody holds any more.
  void drop_released();
  size_t size() const { return entries_.size(); }

  static AesContextCache& for_this_thread();

 private:
  struct Entry {
    uint64_t dek_id;
    std::weak_ptr<const Dek> dek;
    std::optional<crypto::AesGcmDecryptor> decryptor;
    std::optional<crypto::AesGcmEncryptor> encryptor;
  };
  Entry& entry_for(const DekPtr& dek);

  size_t capacity_;
  std::list<Entry> entries_;  // most recently used first; small, so a linear scan is fine
};

}  // namespace kenc::record_encryption
