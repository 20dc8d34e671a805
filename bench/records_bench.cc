// Record batch decode + re-encode throughput per codec: the work the encryption filter does on
// every produced batch besides the cipher itself. Reported as MB/s of record values.

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "common/kafka/records/batch_builder.h"
#include "common/kafka/records/batch_rewriter.h"
#include "common/kafka/records/crc32c.h"
#include "common/kafka/records/record_batch.h"

namespace kenc::kafka::records {
namespace {

constexpr size_t kBatchValueBytes = size_t{64} * 1024;  // a typical linger-filled producer batch

// Copies each value into the rewriter's buffer, so every record is re-encoded as if encrypted.
class CopyTransform : public ValueTransform {
 public:
  Result<ValueAction> transform(const BatchHeader&, const RecordView& record,
                                std::vector<uint8_t>& new_value) override {
    new_value.insert(new_value.end(), record.value.bytes().begin(), record.value.bytes().end());
    return ValueAction::kReplaced;
  }
};

// Values of loosely compressible text (JSON-ish), like typical application payloads.
std::vector<uint8_t> make_batch(Codec codec, size_t record_bytes) {
  std::mt19937 rng(42);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789{}\":, ";
  BatchHeader header;
  header.base_timestamp = 1700000000000;
  header.max_timestamp = header.base_timestamp;
  header.producer_id = 1;
  header.producer_epoch = 0;
  header.base_sequence = 0;
  header.set_codec(codec);
  BatchBuilder builder(header);
  std::string value(record_bytes, ' ');
  const size_t count = kBatchValueBytes / record_bytes;
  for (size_t i = 0; i < count; ++i) {
    for (char& c : value) {
      c = alphabet[rng() % alphabet.size()];
    }
    const std::string key = "key-" + std::to_string(i);
    builder.add(static_cast<int64_t>(i), static_cast<int32_t>(i), NullableBytes::of(key),
                NullableBytes::of(value));
  }
  std::vector<uint8_t> out;
  if (!builder.finish(out).ok()) {
    std::abort();
  }
  return out;
}

void BM_DecodeReencode(benchmark::State& state) {
  const auto codec = static_cast<Codec>(state.range(0));
  const auto record_bytes = static_cast<size_t>(state.range(1));
  const std::vector<uint8_t> bytes = make_batch(codec, record_bytes);
  BatchRewriter rewriter;
  CopyTransform transform;
  std::vector<uint8_t> out;
  size_t value_bytes = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    auto batch = parse_batch(bytes);
    if (!batch.ok()) {
      state.SkipWithError(batch.error().message.c_str());
      return;
    }
    out.clear();
    Status s = rewriter.rewrite_values(*batch, transform, out);
    if (!s.ok()) {
      state.SkipWithError(s.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(out.data());
    value_bytes += (kBatchValueBytes / record_bytes) * record_bytes;
  }
  state.SetBytesProcessed(static_cast<int64_t>(value_bytes));
  state.SetLabel(std::string(codec_name(codec)) + " batch " + std::to_string(bytes.size()) +
                 " B on the wire");
}

void BM_DecodeOnly(benchmark::State& state) {
  const auto codec = static_cast<Codec>(state.range(0));
  const auto record_bytes = static_cast<size_t>(state.range(1));
  const std::vector<uint8_t> bytes = make_batch(codec, record_bytes);
  BatchRewriter rewriter;
  size_t value_bytes = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    auto batch = parse_batch(bytes);
    std::span<const uint8_t> section;
    if (!batch.ok() || !rewriter.records_section(*batch, section).ok()) {
      state.SkipWithError("decode failed");
      return;
    }
    RecordReader reader(section, batch->header.record_count);
    RecordView record;
    while (reader.next(record)) {
      value_bytes += record.value.size();
    }
    benchmark::DoNotOptimize(value_bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(value_bytes));
  state.SetLabel(codec_name(codec));
}

void codec_and_size_args(benchmark::internal::Benchmark* b) {
  for (int codec = 0; codec <= 4; ++codec) {
    for (int size : {100, 1024}) {
      b->Args({codec, size});
    }
  }
  b->ArgNames({"codec", "record_bytes"});
}

// The batch checksum, computed over every batch the filter reads (to verify it) and writes.
void BM_Crc32c(benchmark::State& state) {
  std::vector<uint8_t> data(static_cast<size_t>(state.range(0)));
  std::mt19937 rng(3);
  for (auto& b : data) {
    b = static_cast<uint8_t>(rng());
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(crc32c(data));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(data.size()));
}

BENCHMARK(BM_DecodeReencode)->Apply(codec_and_size_args);
BENCHMARK(BM_DecodeOnly)->Apply(codec_and_size_args);
BENCHMARK(BM_Crc32c)->Arg(1024)->Arg(64 * 1024)->Arg(1024 * 1024);

}  // namespace
}  // namespace kenc::kafka::records

BENCHMARK_MAIN();
