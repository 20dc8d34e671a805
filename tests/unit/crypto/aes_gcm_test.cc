#include "common/crypto/aes_gcm.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>
#include <string>
#include <vector>

namespace kenc::crypto {
namespace {

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::vector<uint8_t> key_bytes() {
  std::vector<uint8_t> key(32);
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<uint8_t>(i);
  }
  return key;
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13 and 14 (AES-256).
TEST(AesGcm, MatchesPublishedTestVectors) {
  std::vector<uint8_t> zero_key(32, 0);
  GcmIv iv{};
  auto enc = AesGcmEncryptor::create(zero_key);
  ASSERT_TRUE(enc.ok());

  GcmTag tag{};
  ASSERT_TRUE(enc->encrypt(iv, {}, {}, {}, tag).ok());
  EXPECT_EQ(std::vector<uint8_t>(tag.begin(), tag.end()),
            from_hex("530f8afbc74536b9a963b4f1c4cb738b"));

  std::vector<uint8_t> plaintext(16, 0), ciphertext(16);
  ASSERT_TRUE(enc->encrypt(iv, {}, plaintext, ciphertext, tag).ok());
  EXPECT_EQ(ciphertext, from_hex("cea7403d4d606b6e074ec5d3baf39d18"));
  EXPECT_EQ(std::vector<uint8_t>(tag.begin(), tag.end()),
            from_hex("d0d1c8a799996bf0265b98b5d48ab919"));
}

TEST(AesGcm, RoundTripsWithAadAcrossManyIvsOnOneContext) {
  auto key = key_bytes();
  auto enc = AesGcmEncryptor::create(key);
  auto dec = AesGcmDecryptor::create(key);
  ASSERT_TRUE(enc.ok());
  ASSERT_TRUE(dec.ok());
  std::vector<uint8_t> aad1{1}, aad2{9, 8, 7};
  for (uint8_t n = 0; n < 50; ++n) {
    GcmIv iv{};
    iv[11] = n;
    std::vector<uint8_t> plaintext(n * 7u, static_cast<uint8_t>(n));
    std::vector<uint8_t> ciphertext(plaintext.size()), back(plaintext.size());
    GcmTag tag{};
    ASSERT_TRUE(enc->encrypt(iv, {aad1, aad2}, plaintext, ciphertext, tag).ok());
    if (!plaintext.empty()) {
      EXPECT_NE(ciphertext, plaintext);
    }
    ASSERT_TRUE(dec->decrypt(iv, {aad1, aad2}, ciphertext, tag, back).ok());
    EXPECT_EQ(back, plaintext);
  }
}

TEST(AesGcm, AadSplitIsTransparent) {
  auto key = key_bytes();
  auto enc = AesGcmEncryptor::create(key);
  auto dec = AesGcmDecryptor::create(key);
  std::vector<uint8_t> whole{1, 2, 3, 4}, first{1}, rest{2, 3, 4};
  std::vector<uint8_t> plaintext{'x', 'y'}, ciphertext(2), back(2);
  GcmTag tag{};
  ASSERT_TRUE(enc->encrypt(GcmIv{}, {first, rest}, plaintext, ciphertext, tag).ok());
  EXPECT_TRUE(dec->decrypt(GcmIv{}, {whole}, ciphertext, tag, back).ok());
}

TEST(AesGcm, DetectsTamperingAndWipesOutput) {
  auto key = key_bytes();
  auto enc = AesGcmEncryptor::create(key);
  auto dec = AesGcmDecryptor::create(key);
  std::vector<uint8_t> aad{42};
  std::vector<uint8_t> plaintext(64, 'p'), ciphertext(64), back(64);
  GcmTag tag{};
  GcmIv iv{};
  iv[0] = 3;
  ASSERT_TRUE(enc->encrypt(iv, {aad}, plaintext, ciphertext, tag).ok());

  auto expect_data_loss = [&](const GcmIv& i, const std::vector<uint8_t>& a,
                              const std::vector<uint8_t>& c, const GcmTag& t) {
    std::fill(back.begin(), back.end(), 0xEE);
    Status s = dec->decrypt(i, {a}, c, t, back);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
    EXPECT_EQ(back, std::vector<uint8_t>(64, 0)) << "unauthenticated plaintext must be wiped";
  };
  auto bad_ct = ciphertext;
  bad_ct[10] ^= 1;
  expect_data_loss(iv, aad, bad_ct, tag);
  auto bad_tag = tag;
  bad_tag[15] ^= 0x80;
  expect_data_loss(iv, aad, ciphertext, bad_tag);
  expect_data_loss(iv, std::vector<uint8_t>{43}, ciphertext, tag);
  auto bad_iv = iv;
  bad_iv[11] = 1;
  expect_data_loss(bad_iv, aad, ciphertext, tag);

  std::vector<uint8_t> other_key(32, 0xAB);
  auto wrong = AesGcmDecryptor::create(other_key);
  Status s = wrong->decrypt(iv, {aad}, ciphertext, tag, back);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
  // The right key still works after failures: the context is reusable.
  EXPECT_TRUE(dec->decrypt(iv, {aad}, ciphertext, tag, back).ok());
  EXPECT_EQ(back, plaintext);
}

TEST(AesGcm, RejectsBadKeysAndBufferSizes) {
  EXPECT_EQ(AesGcmEncryptor::create(std::vector<uint8_t>(16)).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(AesGcmDecryptor::create(std::vector<uint8_t>(33)).ok());
  auto enc = AesGcmEncryptor::create(key_bytes());
  std::vector<uint8_t> plaintext(10), small(9);
  GcmTag tag{};
  EXPECT_EQ(enc->encrypt(GcmIv{}, {}, plaintext, small, tag).error().code,
            ErrorCode::kInvalidArgument);
}

TEST(AesGcm, MovedObjectsKeepWorking) {
  auto key = key_bytes();
  auto enc = AesGcmEncryptor::create(key);
  AesGcmEncryptor moved = std::move(enc).value();
  std::vector<uint8_t> plaintext{1, 2, 3}, ciphertext(3), back(3);
  GcmTag tag{};
  ASSERT_TRUE(moved.encrypt(GcmIv{}, {}, plaintext, ciphertext, tag).ok());
  auto dec = AesGcmDecryptor::create(key);
  ASSERT_TRUE(dec->decrypt(GcmIv{}, {}, ciphertext, tag, back).ok());
  EXPECT_EQ(back, plaintext);
}

// OpenSSL's EVP interface, called directly, as a reference that shares no code with either
// implementation behind AesGcmEncryptor (Intel's libipsec-mb or OpenSSL through
// aes_gcm_openssl.cc).
std::vector<uint8_t> evp_seal(const std::vector<uint8_t>& key, const GcmIv& iv,
                              const std::vector<uint8_t>& aad,
                              const std::vector<uint8_t>& plaintext, GcmTag& tag) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::vector<uint8_t> out(plaintext.size() + 16);
  int len = 0, total = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), iv.data()), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &len, plaintext.data(),
                              static_cast<int>(plaintext.size())),
            1);
  total = len;
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, out.data() + total, &len), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag.data()), 1);
  EVP_CIPHER_CTX_free(ctx);
  out.resize(plaintext.size());
  return out;
}

TEST(AesGcm, ImplementationIsNamed) {
  std::string_view name = aes_gcm_implementation();
  EXPECT_TRUE(name.starts_with("intel-ipsec-mb ") || name.starts_with("OpenSSL ")) << name;
  EXPECT_EQ(name.find("failed"), std::string_view::npos) << name;
}

// Random keys, IVs, AAD (in one to three pieces, up to 1.5 KiB: past the 512 bytes some
// implementations join on the stack) and plaintexts of every length class (empty, below a
// block, odd, many blocks): the bytes and tags must be OpenSSL's, and OpenSSL's must open.
TEST(AesGcm, AgreesWithOpenSslEvpOnRandomInputs) {
  std::mt19937 rng(20261129);
  auto random_bytes = [&](size_t n) {
    std::vector<uint8_t> out(n);
    for (auto& b : out) {
      b = static_cast<uint8_t>(rng());
    }
    return out;
  };
  const size_t sizes[] = {0, 1, 15, 16, 17, 100, 255, 256, 1000, 1024, 4097, 16384};
  const size_t aad_sizes[] = {0, 1, 13, 16, 60, 200, 511, 512, 513, 1500};
  for (size_t size : sizes) {
    for (size_t aad_size : aad_sizes) {
      auto key = random_bytes(32);
      GcmIv iv{};
      auto iv_bytes = random_bytes(iv.size());
      std::copy(iv_bytes.begin(), iv_bytes.end(), iv.begin());
      auto aad = random_bytes(aad_size);
      auto plaintext = random_bytes(size);
      SCOPED_TRACE("plaintext " + std::to_string(size) + " B, AAD " + std::to_string(aad_size) +
                   " B");

      GcmTag expected_tag{};
      auto expected = evp_seal(key, iv, aad, plaintext, expected_tag);

      auto enc = AesGcmEncryptor::create(key);
      auto dec = AesGcmDecryptor::create(key);
      ASSERT_TRUE(enc.ok());
      ASSERT_TRUE(dec.ok());
      size_t cut1 = aad_size / 3, cut2 = aad_size - aad_size / 5;
      std::span<const uint8_t> whole(aad);
      std::vector<uint8_t> ciphertext(size), back(size);
      for (int pieces = 1; pieces <= 3; ++pieces) {
        GcmTag tag{};
        Status sealed = pieces == 1 ? enc->encrypt(iv, {whole}, plaintext, ciphertext, tag)
                        : pieces == 2
                            ? enc->encrypt(iv, {whole.first(cut1), whole.subspan(cut1)}, plaintext,
                                           ciphertext, tag)
                            : enc->encrypt(iv,
                                           {whole.first(cut1), whole.subspan(cut1, cut2 - cut1),
                                            whole.subspan(cut2)},
                                           plaintext, ciphertext, tag);
        ASSERT_TRUE(sealed.ok());
        EXPECT_EQ(ciphertext, expected) << pieces << " AAD pieces";
        EXPECT_EQ(tag, expected_tag) << pieces << " AAD pieces";
      }
      ASSERT_TRUE(
          dec->decrypt(iv, {whole.first(cut1), whole.subspan(cut1)}, expected, expected_tag, back)
              .ok());
      EXPECT_EQ(back, plaintext);
    }
  }
}

}  // namespace
}  // namespace kenc::crypto
