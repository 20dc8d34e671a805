// Per-record cost of kenc's encryption path against the best raw use of OpenSSL.
//
// Baseline ("Raw"): one EVP_CIPHER_CTX whose key is set once, only the IV set per record, the
// same AAD length as a cipher record, writing into a reused buffer. That is the floor any
// AES-256-GCM record encryption can reach with OpenSSL. "Kenc" adds what a record really
// costs: taking an IV from the lease sequence, writing the cipher record (EDEK, IV fields,
// ciphertext, tag) and, on the way back, parsing it. The table at the end prints MB/s of
// plaintext and the kenc/raw ratio. "DecryptViaCaches" adds the DEK cache and per-thread AES
// context lookups of the fetch path (one thread; the 2-thread runs show contention).

#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "common/crypto/aes_gcm.h"
#include "common/crypto/cipher_record.h"
#include "common/crypto/edek.h"
#include "common/crypto/iv_sequence.h"
#include "proxy/filters/record_encryption/aes_context_cache.h"
#include "proxy/filters/record_encryption/dek_cache.h"

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

BENCHMARK(RawEncrypt)->Arg(100)->Arg(1024);
BENCHMARK(KencEncrypt)->Arg(100)->Arg(1024);
BENCHMARK(RawDecrypt)->Arg(100)->Arg(1024);
BENCHMARK(KencDecrypt)->Arg(100)->Arg(1024);
BENCHMARK(KencDecryptViaCaches)->Arg(100)->Arg(1024)->ThreadRange(1, 2);

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
  void PrintRatios() const {
    std::printf("\n%-18s %8s %12s %12s %8s\n", "operation", "size", "raw MB/s", "kenc MB/s",
                "ratio");
    for (std::string op : {"Encrypt", "Decrypt", "DecryptViaCaches"}) {
      for (std::string size : {"100", "1024"}) {
        std::string raw_op = op == "DecryptViaCaches" ? "Decrypt" : op;
        std::string suffix = op == "DecryptViaCaches" ? "/threads:1" : "";
        auto raw = rates_.find("Raw" + raw_op + "/" + size);
        auto kenc = rates_.find("Kenc" + op + "/" + size + suffix);
        if (raw == rates_.end() || kenc == rates_.end()) {
          continue;
        }
        std::printf("%-18s %8s %12.1f %12.1f %8.2f\n", op.c_str(), size.c_str(), raw->second / 1e6,
                    kenc->second / 1e6, kenc->second / raw->second);
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
