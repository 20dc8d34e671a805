#include "proxy/filters/record_encryption/aes_context_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace kenc::record_encryption {
namespace {

DekPtr make_dek(uint64_t id, uint8_t fill) {
  auto dek = std::make_shared<Dek>();
  dek->id = id;
  dek->key = crypto::SecureBytes(std::vector<uint8_t>(32, fill));
  return dek;
}

TEST(AesContextCache, ReusesOneContextPerDek) {
  AesContextCache cache;
  auto a = make_dek(1, 0x11), b = make_dek(2, 0x22);
  auto da = cache.decryptor(a);
  ASSERT_TRUE(da.ok());
  EXPECT_EQ(*cache.decryptor(a), *da);
  EXPECT_NE(*cache.decryptor(b), *da);
  EXPECT_EQ(cache.size(), 2u);
  ASSERT_TRUE(cache.encryptor(a).ok());
  EXPECT_EQ(cache.size(), 2u) << "encryptor and decryptor of one DEK share an entry";
}

TEST(AesContextCache, ContextsWorkWithTheirDek) {
  AesContextCache cache;
  auto dek = make_dek(7, 0x77);
  std::vector<uint8_t> plaintext{1, 2, 3, 4}, ciphertext(4), back(4);
  crypto::GcmTag tag{};
  ASSERT_TRUE(
      (*cache.encryptor(dek))->encrypt(crypto::GcmIv{}, {}, plaintext, ciphertext, tag).ok());
  // A decryptor made directly from the key agrees: the cached context has the right key.
  auto direct = crypto::AesGcmDecryptor::create(dek->key.view());
  ASSERT_TRUE(direct->decrypt(crypto::GcmIv{}, {}, ciphertext, tag, back).ok());
  EXPECT_EQ(back, plaintext);
  ASSERT_TRUE((*cache.decryptor(dek))->decrypt(crypto::GcmIv{}, {}, ciphertext, tag, back).ok());
}

TEST(AesContextCache, FreesContextsOfReleasedDeks) {
  AesContextCache cache;
  auto kept = make_dek(1, 1);
  ASSERT_TRUE(cache.decryptor(kept).ok());
  {
    auto released = make_dek(2, 2);
    ASSERT_TRUE(cache.decryptor(released).ok());
  }
  EXPECT_EQ(cache.size(), 2u);
  cache.drop_released();
  EXPECT_EQ(cache.size(), 1u);
  // Adding a context also sweeps released ones.
  {
    auto released = make_dek(3, 3);
    ASSERT_TRUE(cache.decryptor(released).ok());
  }
  auto fresh = make_dek(4, 4);
  ASSERT_TRUE(cache.decryptor(fresh).ok());
  EXPECT_EQ(cache.size(), 2u) << "the released DEK 3 was swept when DEK 4 was added";
}

TEST(AesContextCache, IsBounded) {
  AesContextCache cache(3);
  std::vector<DekPtr> deks;
  for (uint64_t i = 1; i <= 5; ++i) {
    deks.push_back(make_dek(i, static_cast<uint8_t>(i)));
    ASSERT_TRUE(cache.decryptor(deks.back()).ok());
  }
  EXPECT_EQ(cache.size(), 3u);
}

TEST(AesContextCache, EachThreadHasItsOwn) {
  AesContextCache* main_cache = &AesContextCache::for_this_thread();
  AesContextCache* other = nullptr;
  std::thread([&] { other = &AesContextCache::for_this_thread(); }).join();
  EXPECT_NE(main_cache, other);
  EXPECT_EQ(main_cache, &AesContextCache::for_this_thread());
}

TEST(AesContextCache, RejectsNullAndBadKeys) {
  AesContextCache cache;
  EXPECT_FALSE(cache.decryptor(nullptr).ok());
  auto bad = std::make_shared<Dek>();
  bad->id = 99;
  bad->key = crypto::SecureBytes(std::vector<uint8_t>(5, 0));
  EXPECT_EQ(cache.encryptor(bad).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace kenc::record_encryption
