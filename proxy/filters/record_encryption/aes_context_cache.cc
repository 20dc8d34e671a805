#include "proxy/filters/record_encryption/aes_context_cache.h"

namespace kenc::record_encryption {

AesContextCache::Entry& AesContextCache::entry_for(const DekPtr& dek) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->dek_id == dek->id) {
      entries_.splice(entries_.begin(), entries_, it);
      return entries_.front();
    }
  }
  drop_released();
  entries_.push_front(Entry{dek->id, dek, std::nullopt, std::nullopt});
  while (entries_.size() > capacity_ && entries_.size() > 1) {
    entries_.pop_back();
  }
  return entries_.front();
}

Result<crypto::AesGcmDecryptor*> AesContextCache::decryptor(const DekPtr& dek) {
  if (!dek) {
    return make_error(ErrorCode::kInvalidArgument, "no DEK");
  }
  Entry& entry = entry_for(dek);
  if (!entry.decryptor) {
    auto created = crypto::AesGcmDecryptor::create(dek->key.view());
    if (!created.ok()) {
      return created.error();
    }
    entry.decryptor.emplace(std::move(created).value());
  }
  return &*entry.decryptor;
}

Result<crypto::AesGcmEncryptor*> AesContextCache::encryptor(const DekPtr& dek) {
  if (!dek) {
    return make_error(ErrorCode::kInvalidArgument, "no DEK");
  }
  Entry& entry = entry_for(dek);
  if (!entry.encryptor) {
    auto created = crypto::AesGcmEncryptor::create(dek->key.view());
    if (!created.ok()) {
      return created.error();
    }
    entry.encryptor.emplace(std::move(created).value());
  }
  return &*entry.encryptor;
}

void AesContextCache::drop_released() {
  entries_.remove_if([](const Entry& e) { return e.dek.expired(); });
}

AesContextCache& AesContextCache::for_this_thread() {
  thread_local AesContextCache cache;
  return cache;
}

}  // namespace kenc::record_encryption
