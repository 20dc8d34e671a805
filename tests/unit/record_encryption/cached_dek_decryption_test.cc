// The fast path of Fetch decryption (cached DEKs, work split between threads) must give exactly
// what decrypting batch by batch on one thread gives, and hand every partition it cannot finish
// to the slow path untouched.
#include "proxy/filters/record_encryption/cached_dek_decryption.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/crypto/edek.h"
#include "common/kafka/records/batch_builder.h"
#include "common/kafka/records/batch_rewriter.h"
#include "common/kafka/records/record_batch.h"

namespace kenc::record_encryption {
namespace {

using kafka::records::BatchBuilder;
using kafka::records::BatchHeader;
using kafka::records::Codec;
using kafka::records::NullableBytes;

constexpr size_t kRecordsPerBatch = 20;

struct Keys {
  std::map<std::vector<uint8_t>, DekPtr> by_edek;

  std::vector<uint8_t> add(uint8_t seed) {
    auto edek = *crypto::serialize_edek(
        crypto::Edek{"kek-" + std::to_string(seed), 1, std::vector<uint8_t>(28, seed)});
    auto dek = std::make_shared<Dek>();
    dek->id = next_dek_id();
    dek->key = crypto::SecureBytes(std::vector<uint8_t>(32, seed));
    by_edek[edek] = dek;
    return edek;
  }
  DecryptTransform::FindDek find() const {
    return [this](std::span<const uint8_t> edek) -> DekPtr {
      auto it = by_edek.find(std::vector<uint8_t>(edek.begin(), edek.end()));
      return it == by_edek.end() ? nullptr : it->second;
    };
  }
};

std::vector<uint8_t> plain_batch(int64_t base_offset, Codec codec, bool control = false) {
  BatchHeader h;
  h.base_offset = base_offset;
  h.base_timestamp = 1'700'000'000'000;
  h.max_timestamp = h.base_timestamp;
  h.set_codec(codec);
  if (control) {
    h.attributes |= 0x20;  // control bit
  }
  BatchBuilder builder(h);
  for (size_t i = 0; i < kRecordsPerBatch; ++i) {
    const std::string value(100 + i * 37, static_cast<char>('a' + i % 26));
    builder.add(0, static_cast<int32_t>(i), NullableBytes::of("key-" + std::to_string(i)),
                i % 7 == 3 ? NullableBytes::null() : NullableBytes::of(value), {});
  }
  std::vector<uint8_t> out;
  EXPECT_TRUE(builder.finish(out).ok());
  return out;
}

std::vector<uint8_t> encrypted_batch(const Keys& keys, const std::vector<uint8_t>& edek,
                                     int64_t base_offset, Codec codec) {
  auto plain = plain_batch(base_offset, codec);
  auto view = kafka::records::parse_batch(plain);
  EXPECT_TRUE(view.ok());
  auto encryptor = crypto::AesGcmEncryptor::create(keys.by_edek.at(edek)->key.view());
  EXPECT_TRUE(encryptor.ok());
  EncryptTransform transform(*encryptor, edek,
                             crypto::IvFields{7, static_cast<uint64_t>(base_offset)}, 1000);
  kafka::records::BatchRewriter rewriter;
  std::vector<uint8_t> out;
  EXPECT_TRUE(rewriter.rewrite_values(*view, transform, out).ok());
  return out;
}

void append(std::vector<uint8_t>& to, const std::vector<uint8_t>& bytes) {
  to.insert(to.end(), bytes.begin(), bytes.end());
}

// The reference: every batch decrypted in turn on this thread, plaintext batches kept.
std::vector<uint8_t> decrypt_one_by_one(const SharedBytes& records, const Keys& keys) {
  std::vector<kafka::records::RecordsEntry> entries;
  EXPECT_TRUE(kafka::records::parse_records(records.view(), entries).ok());
  DecryptTransform transform(keys.find());
  kafka::records::BatchRewriter rewriter;
  std::vector<uint8_t> out;
  for (const auto& e : entries) {
    bool rewritten = false;
    if (e.kind == kafka::records::EntryKind::kBatch && !e.batch.header.is_control()) {
      transform.reset();
      auto r = rewriter.rewrite_values_if_needed(e.batch, transform, out);
      EXPECT_TRUE(r.ok());
      rewritten = r.ok() && *r;
    }
    if (!rewritten) {
      out.insert(out.end(), e.bytes.begin(), e.bytes.end());
    }
  }
  return out;
}

// A partition of `batches` batches: mostly cipher records under two DEKs, with plaintext,
// compressed and control batches among them and a partial batch at the end.
SharedBytes mixed_partition(const Keys& keys, const std::vector<uint8_t>& edek_a,
                            const std::vector<uint8_t>& edek_b, int batches) {
  std::vector<uint8_t> bytes;
  int64_t offset = 0;
  for (int i = 0; i < batches; ++i, offset += kRecordsPerBatch) {
    if (i % 5 == 1) {
      append(bytes, plain_batch(offset, Codec::kNone));
    } else if (i % 9 == 4) {
      append(bytes, plain_batch(offset, Codec::kNone, /*control=*/true));
    } else {
      append(bytes, encrypted_batch(keys, i % 2 == 0 ? edek_a : edek_b, offset,
                                    i % 3 == 0 ? Codec::kLz4 : Codec::kNone));
    }
  }
  auto tail = encrypted_batch(keys, edek_a, offset, Codec::kNone);
  bytes.insert(bytes.end(), tail.begin(), tail.begin() + static_cast<long>(tail.size() / 2));
  return SharedBytes(std::move(bytes));
}

// Cipher records (non-null values of complete encrypted batches) in mixed_partition(batches).
uint64_t cipher_records_in_mixed_partition(int batches) {
  constexpr uint64_t kNonNullPerBatch = kRecordsPerBatch - 3;  // values 3, 10 and 17 are null
  uint64_t n = 0;
  for (int i = 0; i < batches; ++i) {
    if (i % 5 != 1 && i % 9 != 4) n += kNonNullPerBatch;
  }
  return n;
}

CachedDecryptionOptions split_small() {
  CachedDecryptionOptions o;
  o.min_split_bytes = 1;
  o.min_chunk_bytes = 1;  // a chunk per batch: the most joins
  return o;
}

// Decrypts `count` mixed partitions with `pool` under each option set and compares every
// partition with decrypt_one_by_one().
void expect_same_as_one_by_one(int count, ForkJoinPool* pool) {
  Keys keys;
  auto a = keys.add(1);
  auto b = keys.add(2);
  std::vector<SharedBytes> records;
  for (int p = 0; p < count; ++p) {
    records.push_back(mixed_partition(keys, a, b, 10 + 7 * p));
  }
  std::vector<const SharedBytes*> partitions;
  for (const auto& r : records) partitions.push_back(&r);

  for (const bool small : {false, true}) {
    const CachedDecryptionOptions options = small ? split_small() : CachedDecryptionOptions{};
    CachedDecryptionStats stats;
    auto results = decrypt_with_cached_deks(partitions, keys.find(), pool, stats, options);
    // Offered to the helpers only past the threshold (256 KiB by default).
    size_t total = 0;
    for (const auto& r : records) total += r.size();
    EXPECT_EQ(stats.shared, pool != nullptr && (small || total >= options.min_split_bytes));
    ASSERT_EQ(results.size(), records.size());
    uint64_t expected_decrypted = 0;
    for (size_t p = 0; p < records.size(); ++p) {
      ASSERT_EQ(results[p].outcome, CachedDecryption::kDecrypted) << "partition " << p;
      const auto expected = decrypt_one_by_one(records[p], keys);
      EXPECT_EQ(
          std::vector<uint8_t>(results[p].records.view().begin(), results[p].records.view().end()),
          expected)
          << "partition " << p;
      expected_decrypted += cipher_records_in_mixed_partition(10 + 7 * static_cast<int>(p));
    }
    EXPECT_EQ(stats.decrypted, expected_decrypted);
    EXPECT_GT(stats.decrypted, 0u);
  }
}

TEST(CachedDekDecryptionTest, PartitionsSharedBetweenThreadsGiveTheSameBytesAsOneByOne) {
  ForkJoinPool pool(2);
  expect_same_as_one_by_one(4, &pool);  // at least one partition per thread: whole partitions
}

TEST(CachedDekDecryptionTest, APartitionCutIntoChunksGivesTheSameBytesAsOneByOne) {
  ForkJoinPool pool(2);
  expect_same_as_one_by_one(1, &pool);  // fewer partitions than threads: chunks, then joined
  expect_same_as_one_by_one(2, &pool);
}

TEST(CachedDekDecryptionTest, WithoutAPoolTheCallerDecryptsEverything) {
  expect_same_as_one_by_one(3, nullptr);
}

TEST(CachedDekDecryptionTest, APartitionWithAnUncachedDekGoesToTheSlowPathAlone) {
  Keys keys;
  auto a = keys.add(1);
  auto b = keys.add(2);
  SharedBytes first = mixed_partition(keys, a, b, 12);
  SharedBytes second = mixed_partition(keys, a, b, 12);
  Keys only_a;
  only_a.by_edek[a] = keys.by_edek[a];
  // The second partition's batches all use DEK a; the first needs b too.
  std::vector<uint8_t> all_a;
  for (int i = 0; i < 6; ++i) append(all_a, encrypted_batch(keys, a, i * 20, Codec::kNone));
  SharedBytes only_a_records(std::move(all_a));
  std::vector<const SharedBytes*> partitions{&first, &only_a_records, &second};
  ForkJoinPool pool(1);
  CachedDecryptionStats stats;
  auto results = decrypt_with_cached_deks(partitions, only_a.find(), &pool, stats, split_small());
  EXPECT_EQ(results[0].outcome, CachedDecryption::kSlowPath);
  EXPECT_TRUE(results[0].records.empty());
  EXPECT_EQ(results[1].outcome, CachedDecryption::kDecrypted);
  EXPECT_EQ(results[2].outcome, CachedDecryption::kSlowPath);
  const auto expected = decrypt_one_by_one(only_a_records, keys);
  EXPECT_EQ(
      std::vector<uint8_t>(results[1].records.view().begin(), results[1].records.view().end()),
      expected);
  // Only what was delivered is counted.
  EXPECT_EQ(stats.decrypted, 6 * (kRecordsPerBatch - 3));
}

TEST(CachedDekDecryptionTest, PlaintextPartitionsStayUnchanged) {
  Keys keys;
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 5; ++i)
    append(bytes, plain_batch(i * 20, i % 2 ? Codec::kNone : Codec::kZstd));
  SharedBytes records(std::move(bytes));
  std::vector<const SharedBytes*> partitions{&records};
  ForkJoinPool pool(1);
  CachedDecryptionStats stats;
  auto results = decrypt_with_cached_deks(partitions, keys.find(), &pool, stats, split_small());
  EXPECT_EQ(results[0].outcome, CachedDecryption::kUnchanged);
  EXPECT_EQ(stats.decrypted, 0u);
}

TEST(CachedDekDecryptionTest, ABadCrcOrUnparsableRecordsGoToTheSlowPath) {
  Keys keys;
  auto a = keys.add(1);
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 4; ++i) append(bytes, encrypted_batch(keys, a, i * 20, Codec::kNone));
  std::vector<uint8_t> flipped = bytes;
  flipped[flipped.size() - 10] ^= 0x01;  // inside the last batch: its CRC no longer matches
  // A complete entry of 22 bytes with magic 7: not a record batch any Kafka writes.
  std::vector<uint8_t> garbage = {0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  10, 0, 0, 0, 0, 7, 1, 2, 3, 4, 5};
  SharedBytes good(std::move(bytes));
  SharedBytes bad_crc(std::move(flipped));
  SharedBytes unparsable(std::move(garbage));
  std::vector<const SharedBytes*> partitions{&good, &bad_crc, &unparsable};
  CachedDecryptionStats stats;
  // Without a pool, and with one.
  ForkJoinPool pool(1);
  for (ForkJoinPool* p : {static_cast<ForkJoinPool*>(nullptr), &pool}) {
    auto results = decrypt_with_cached_deks(partitions, keys.find(), p, stats, split_small());
    EXPECT_EQ(results[0].outcome, CachedDecryption::kDecrypted);
    EXPECT_EQ(results[1].outcome, CachedDecryption::kSlowPath);
    EXPECT_EQ(results[2].outcome, CachedDecryption::kSlowPath);
  }
}

}  // namespace
}  // namespace kenc::record_encryption
