// Per-record cost of kenc's encryption path against the best raw use of OpenSSL.
//
// Baseline ("Raw"): one EVP_CIPHER_CTX whose key is set once, only the IV set per record, the
// same AAD length as a cipher record, writing into a reused buffer. That is the floor any
// AES-256-GCM record encryption can reach with OpenSSL. "Gcm" is the same work through kenc's
// AesGcmEncryptor/AesGcmDecryptor, i.e. the implementation compiled in (Intel's libipsec-mb
// on x86-64, else OpenSSL; its name is printed first), the floor of kenc's own record
// cipher. "Kenc" adds what a record really
// costs: taking an IV from the lease sequence, writing the cipher record (EDEK, IV fields,
// ciphertext, tag) and, on the way back, parsing it. The table at the end prints MB/s of
// plaintext and the kenc/raw ratio. "DecryptViaCaches" adds the DEK cache and per-thread AES
// context lookups of the fetch path (one thread; the 2-thread runs show contention).
// "BatchEncrypt"/"BatchDecrypt" are the filter's whole per-batch work on one core: the
// BatchRewriter with the filter's EncryptTransform / DecryptTransform over an uncompressed
// batch of about 64 KiB (walk the records, encrypt or decrypt each value, write the cipher
// records and the `kenc` header, rebuild the batch, CRC32C), against raw AES-GCM of the same
// values. "FetchResponseDecrypt/<size>/<helpers>/<partitions>" is the wall time to decrypt the
// records of a Fetch response (partitions of 1 MiB in 64 KiB batches) with cached DEKs, by the
// calling thread alone (0 helpers) or shared with one helper thread: what a consumer waits for.

#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "common/base/fork_join_pool.h"
#include "common/crypto/aes_gcm.h"
#include "common/crypto/cipher_record.h"
#include "common/crypto/edek.h"
#include "common/crypto/iv_sequence.h"
#include "common/kafka/records/batch_builder.h"
#include "common/kafka/records/batch_rewriter.h"
#include "common/kafka/records/record_batch.h"
#include "proxy/filters/record_encryption/aes_context_cache.h"
#include "proxy/filters/record_encryption/cached_dek_decryption.h"
#include "proxy/filters/record_encryption/dek_cache.h"
#include "proxy/filters/record_encryption/record_transforms.h"

namespace {

using namespace kenc::crypto;

std::vector<uint8_t> bench_key() { return std::vector<uint8_t>(32, 0x42); }

std::vector<uint8_t> bench_edek() {
  return serialize_edek(Edek{"orders-kek", 1, std::vector<uint8_t>(60, 0xA5)}).value();
}

constexpr size_t kRecordAadBytes = 1 + 1 + 72 + 1 + 3;  // version + prefix of a typical record

struct RawCtx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  explicit RawCtx(bool encrypt) {
    auto key = bench_key();
    if (encrypt) {
      EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nullptr);
    } else {
      EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nullptr);
    }
  }
  ~RawCtx() { EVP_CIPHER_CTX_free(ctx); }
};

void RawEncrypt(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  RawCtx raw(true);
  std::vector<uint8_t> aad(kRecordAadBytes, 1), plaintext(size, 'p'), out(size);
  uint8_t iv[12] = {};
  uint8_t tag[16];
  uint64_t n = 0;
  for (auto _ : state) {
    ++n;
    std::memcpy(iv + 4, &n, sizeof(n));
    int len = 0;
    EVP_EncryptInit_ex(raw.ctx, nullptr, nullptr, nullptr, iv);
    EVP_EncryptUpdate(raw.ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
    EVP_EncryptUpdate(raw.ctx, out.data(), &len, plaintext.data(), static_cast<int>(size));
    EVP_EncryptFinal_ex(raw.ctx, out.data() + len, &len);
    EVP_CIPHER_CTX_ctrl(raw.ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(tag);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void GcmEncrypt(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  auto enc = AesGcmEncryptor::create(bench_key()).value();
  std::vector<uint8_t> aad(kRecordAadBytes, 1), plaintext(size, 'p'), out(size);
  GcmIv iv{};
  GcmTag tag{};
  uint64_t n = 0;
  for (auto _ : state) {
    ++n;
    std::memcpy(iv.data() + 4, &n, sizeof(n));
    if (!enc.encrypt(iv, {aad}, plaintext, out, tag).ok()) {
      state.SkipWithError("encrypt failed");
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(tag.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void GcmDecrypt(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  auto enc = AesGcmEncryptor::create(bench_key()).value();
  auto dec = AesGcmDecryptor::create(bench_key()).value();
  std::vector<uint8_t> aad(kRecordAadBytes, 1), plaintext(size, 'p'), ct(size), out(size);
  GcmIv iv{};
  GcmTag tag{};
  if (!enc.encrypt(iv, {aad}, plaintext, ct, tag).ok()) {
    state.SkipWithError("cannot prepare the ciphertext");
    return;
  }
  for (auto _ : state) {
    if (!dec.decrypt(iv, {aad}, ct, tag, out).ok()) {
      state.SkipWithError("decrypt failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void KencEncrypt(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  auto enc = AesGcmEncryptor::create(bench_key()).value();
  auto edek = bench_edek();
  IvSequence ivs(7, ~0ull);
  std::vector<uint8_t> plaintext(size, 'p');
  std::vector<uint8_t> out(cipher_record_value_size(edek.size(), IvFields{~0u, ~0ull}, size));
  for (auto _ : state) {
    auto iv = ivs.next();
    auto written = write_cipher_record_value(enc, edek, *iv, plaintext, out);
    benchmark::DoNotOptimize(written);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

std::vector<uint8_t> sample_record(size_t size) {
  auto enc = AesGcmEncryptor::create(bench_key()).value();
  auto edek = bench_edek();
  IvFields iv{7, 100000};
  std::vector<uint8_t> out(cipher_record_value_size(edek.size(), iv, size));
  (void)write_cipher_record_value(enc, edek, iv, std::vector<uint8_t>(size, 'p'), out);
  return out;
}

void RawDecrypt(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  RawCtx enc(true), dec(false);
  std::vector<uint8_t> aad(kRecordAadBytes, 1), plaintext(size, 'p'), ct(size), out(size);
  uint8_t iv[12] = {};
  uint8_t tag[16];
  int len = 0;
  EVP_EncryptInit_ex(enc.ctx, nullptr, nullptr, nullptr, iv);
  EVP_EncryptUpdate(enc.ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
  EVP_EncryptUpdate(enc.ctx, ct.data(), &len, plaintext.data(), static_cast<int>(size));
  EVP_EncryptFinal_ex(enc.ctx, ct.data() + len, &len);
  EVP_CIPHER_CTX_ctrl(enc.ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
  for (auto _ : state) {
    EVP_DecryptInit_ex(dec.ctx, nullptr, nullptr, nullptr, iv);
    EVP_DecryptUpdate(dec.ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
    EVP_DecryptUpdate(dec.ctx, out.data(), &len, ct.data(), static_cast<int>(size));
    EVP_CIPHER_CTX_ctrl(dec.ctx, EVP_CTRL_GCM_SET_TAG, 16, tag);
    int ok = EVP_DecryptFinal_ex(dec.ctx, out.data() + len, &len);
    if (ok != 1) {
      state.SkipWithError("raw decrypt failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void KencDecrypt(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  auto dec = AesGcmDecryptor::create(bench_key()).value();
  auto value = sample_record(size);
  const std::vector<uint8_t> header{kCipherFormatV1};
  std::vector<uint8_t> out(size);
  for (auto _ : state) {
    auto record = parse_cipher_record(header, value);
    if (!record.ok() || !decrypt_cipher_record(dec, *record, out).ok()) {
      state.SkipWithError("kenc decrypt failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// The fetch path as the filter will run it: parse, find the DEK by EDEK in the shared
// DekCache (a mutex), take this thread's AES context for it, decrypt.
void KencDecryptViaCaches(benchmark::State& state) {
  using namespace kenc::record_encryption;
  size_t size = static_cast<size_t>(state.range(0));
  DekCache cache({}, [](std::span<const uint8_t>, const std::string&, UnwrapDone done) {
    done(SecureBytes(bench_key()));
  });
  auto value = sample_record(size);
  const std::vector<uint8_t> header{kCipherFormatV1};
  cache.get(parse_cipher_record(header, value)->edek, [](kenc::Result<DekPtr>) {});
  std::vector<uint8_t> out(size);
  for (auto _ : state) {
    auto record = parse_cipher_record(header, value);
    DekPtr dek = cache.find(record->edek);
    auto decryptor = AesContextCache::for_this_thread().decryptor(dek);
    if (!decryptor.ok() || !decrypt_cipher_record(**decryptor, *record, out).ok()) {
      state.SkipWithError("cached decrypt failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// Records per benchmark batch: about 64 KiB of values (a producer's batch.size), at least 4.
int64_t records_per_batch(size_t size) {
  return std::max<int64_t>(4, static_cast<int64_t>(65536 / size));
}

// An uncompressed batch of `count` records with `size`-byte values (and 8-byte keys).
std::vector<uint8_t> plaintext_batch(size_t size, int64_t count) {
  using namespace kenc::kafka::records;
  BatchHeader header;
  header.base_timestamp = 1700000000000;
  header.max_timestamp = header.base_timestamp;
  BatchBuilder builder(header);
  std::vector<uint8_t> value(size);
  for (size_t i = 0; i < size; ++i) {
    value[i] = static_cast<uint8_t>('a' + i % 26);
  }
  for (int64_t i = 0; i < count; ++i) {
    builder.add(0, static_cast<int32_t>(i), NullableBytes::of("key-0001"), NullableBytes(value));
  }
  std::vector<uint8_t> out;
  if (!builder.finish(out).ok()) {
    std::abort();
  }
  return out;
}

void BatchEncrypt(benchmark::State& state) {
  using namespace kenc::kafka::records;
  const size_t size = static_cast<size_t>(state.range(0));
  const int64_t count = records_per_batch(size);
  auto enc = AesGcmEncryptor::create(bench_key()).value();
  auto edek = bench_edek();
  auto batch_bytes = plaintext_batch(size, count);
  auto batch = parse_batch(batch_bytes).value();
  BatchRewriter rewriter;
  std::vector<uint8_t> out;
  uint64_t counter = 0;
  for (auto _ : state) {
    out.clear();
    kenc::record_encryption::EncryptTransform transform(enc, edek, IvFields{7, counter},
                                                        static_cast<uint64_t>(count));
    counter += static_cast<uint64_t>(count);
    if (!rewriter.rewrite_values(batch, transform, out).ok()) {
      state.SkipWithError("batch encrypt failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * count * static_cast<int64_t>(size));
}

void BatchDecrypt(benchmark::State& state) {
  using namespace kenc::kafka::records;
  using namespace kenc::record_encryption;
  const size_t size = static_cast<size_t>(state.range(0));
  const int64_t count = records_per_batch(size);
  auto enc = AesGcmEncryptor::create(bench_key()).value();
  auto edek = bench_edek();
  auto plain_bytes = plaintext_batch(size, count);
  std::vector<uint8_t> cipher_bytes;
  EncryptTransform encrypt(enc, edek, IvFields{7, 0}, static_cast<uint64_t>(count));
  BatchRewriter rewriter;
  if (!rewriter.rewrite_values(parse_batch(plain_bytes).value(), encrypt, cipher_bytes).ok()) {
    state.SkipWithError("cannot prepare the encrypted batch");
    return;
  }
  auto batch = parse_batch(cipher_bytes).value();
  // The fetch path's DEK lookup: the shared DekCache (already holding the DEK) per record.
  DekCache cache({}, [](std::span<const uint8_t>, const std::string&, UnwrapDone done) {
    done(SecureBytes(bench_key()));
  });
  cache.get(edek, [](kenc::Result<DekPtr>) {});
  DecryptTransform transform([&cache](std::span<const uint8_t> e) { return cache.find(e); });
  std::vector<uint8_t> out;
  for (auto _ : state) {
    out.clear();
    auto r = rewriter.rewrite_values_if_needed(batch, transform, out);
    if (!r.ok() || !*r) {
      state.SkipWithError("batch decrypt failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * count * static_cast<int64_t>(size));
}

void FetchResponseDecrypt(benchmark::State& state) {
  using namespace kenc::kafka::records;
  using namespace kenc::record_encryption;
  const size_t size = static_cast<size_t>(state.range(0));
  const int64_t count = records_per_batch(size);
  auto enc = AesGcmEncryptor::create(bench_key()).value();
  auto edek = bench_edek();
  auto plain_bytes = plaintext_batch(size, count);
  auto plain = parse_batch(plain_bytes).value();
  BatchRewriter rewriter;
  const int partitions_count = static_cast<int>(state.range(2));
  constexpr size_t kPartitionBytes = 1024 * 1024;
  std::vector<kenc::SharedBytes> partitions;
  uint64_t counter = 0;
  int64_t values = 0;
  for (int p = 0; p < partitions_count; ++p) {
    std::vector<uint8_t> records;
    while (records.size() < kPartitionBytes) {
      EncryptTransform encrypt(enc, edek, IvFields{7, counter}, static_cast<uint64_t>(count));
      counter += static_cast<uint64_t>(count);
      values += count;
      if (!rewriter.rewrite_values(plain, encrypt, records).ok()) {
        state.SkipWithError("cannot prepare the encrypted batches");
        return;
      }
    }
    partitions.emplace_back(std::move(records));
  }
  std::vector<const kenc::SharedBytes*> refs;
  for (const auto& p : partitions) {
    refs.push_back(&p);
  }
  DekCache cache({}, [](std::span<const uint8_t>, const std::string&, UnwrapDone done) {
    done(SecureBytes(bench_key()));
  });
  cache.get(edek, [](kenc::Result<DekPtr>) {});
  DecryptTransform::FindDek find = [&cache](std::span<const uint8_t> e) { return cache.find(e); };
  kenc::ForkJoinPool pool(static_cast<size_t>(state.range(1)));
  for (auto _ : state) {
    CachedDecryptionStats stats;
    auto results = decrypt_with_cached_deks(refs, find, &pool, stats);
    if (stats.decrypted != static_cast<uint64_t>(values)) {
      state.SkipWithError("fetch response decrypt failed");
    }
    benchmark::DoNotOptimize(results.data());
  }
  state.SetBytesProcessed(state.iterations() * values * static_cast<int64_t>(size));
}

BENCHMARK(RawEncrypt)->Arg(100)->Arg(1024)->Arg(10240);
BENCHMARK(GcmEncrypt)->Arg(100)->Arg(1024)->Arg(10240);
BENCHMARK(KencEncrypt)->Arg(100)->Arg(1024);
BENCHMARK(BatchEncrypt)->Arg(100)->Arg(1024)->Arg(10240);
BENCHMARK(RawDecrypt)->Arg(100)->Arg(1024)->Arg(10240);
BENCHMARK(GcmDecrypt)->Arg(100)->Arg(1024)->Arg(10240);
BENCHMARK(KencDecrypt)->Arg(100)->Arg(1024);
BENCHMARK(BatchDecrypt)->Arg(100)->Arg(1024)->Arg(10240);
BENCHMARK(KencDecryptViaCaches)->Arg(100)->Arg(1024)->ThreadRange(1, 2);
BENCHMARK(FetchResponseDecrypt)
    ->ArgsProduct({{100, 1024}, {0, 1}, {1, 3}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Collects bytes/s per benchmark so main() can print MB/s and the kenc/raw ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      auto it = run.counters.find("bytes_per_second");
      if (it != run.counters.end()) {
        rates_[run.benchmark_name()] = it->second.value;
      }
    }
  }
  // "raw": OpenSSL's EVP used as well as it can be; "gcm": kenc's AES-256-GCM implementation
  // alone. The "Gcm" rows compare the two implementations.
  void PrintRatios() const {
    std::printf("\nAES-256-GCM implementation: %.*s\n",
                static_cast<int>(aes_gcm_implementation().size()), aes_gcm_implementation().data());
    std::printf("%-18s %8s %12s %12s %12s %10s %10s\n", "operation", "size", "raw MB/s", "gcm MB/s",
                "kenc MB/s", "kenc/raw", "kenc/gcm");
    for (std::string op : {"GcmEncrypt", "GcmDecrypt", "Encrypt", "Decrypt", "DecryptViaCaches",
                           "BatchEncrypt", "BatchDecrypt"}) {
      for (std::string size : {"100", "1024", "10240"}) {
        std::string raw_op = op == "DecryptViaCaches" ? "Decrypt" : op;
        for (std::string prefix : {"Batch", "Gcm"}) {
          if (raw_op.rfind(prefix, 0) == 0) {
            raw_op = raw_op.substr(prefix.size());
          }
        }
        std::string suffix = op == "DecryptViaCaches" ? "/threads:1" : "";
        bool own_name = op.rfind("Batch", 0) == 0 || op.rfind("Gcm", 0) == 0;
        std::string name = own_name ? op : "Kenc" + op;
        auto raw = rates_.find("Raw" + raw_op + "/" + size);
        auto gcm = rates_.find("Gcm" + raw_op + "/" + size);
        auto kenc = rates_.find(name + "/" + size + suffix);
        if (raw == rates_.end() || gcm == rates_.end() || kenc == rates_.end()) {
          continue;
        }
        std::printf("%-18s %8s %12.1f %12.1f %12.1f %10.2f %10.2f\n", op.c_str(), size.c_str(),
                    raw->second / 1e6, gcm->second / 1e6, kenc->second / 1e6,
                    kenc->second / raw->second, kenc->second / gcm->second);
      }
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  return 0;
}
