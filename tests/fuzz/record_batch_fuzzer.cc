// libFuzzer target for the record batch decoder. The input is used two ways:
//  1. as a whole `records` blob: parse, then walk and rewrite every v2 batch;
//  2. as the compressed payload of a batch with a valid CRC, the codec picked by the first byte,
//     so every decompressor and the record reader behind it see arbitrary bytes.
// Any crash, overread (ASan) or undefined behaviour (UBSan) is a finding.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/kafka/records/batch_builder.h"
#include "common/kafka/records/batch_rewriter.h"
#include "common/kafka/records/record_batch.h"

namespace {

using namespace kenc::kafka::records;

class CopyTransform : public ValueTransform {
 public:
  kenc::Result<ValueAction> transform(const BatchHeader&, const RecordView& record,
                                      std::vector<uint8_t>& new_value) override {
    if (record.value.is_null()) {
      return ValueAction::kUnchanged;
    }
    new_value.assign(record.value.bytes().begin(), record.value.bytes().end());
    HeaderReader headers = record.headers();
    HeaderView header;
    while (headers.next(header)) {
      new_value.push_back(static_cast<uint8_t>(header.key.size()));
    }
    return ValueAction::kReplaced;
  }
};

void exercise(const BatchView& batch) {
  RewriteOptions options;
  options.max_decompressed_bytes = 1 << 20;  // keep the fuzzer's memory bounded
  BatchRewriter rewriter(options);
  CopyTransform transform;
  std::vector<uint8_t> out;
  if (!rewriter.rewrite_values(batch, transform, out).ok()) {
    return;
  }
  // What we write must parse again.
  if (!parse_batch(out).ok()) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);

  ParseOptions no_crc;
  no_crc.verify_crc = false;  // let the fuzzer reach the record reader without forging CRCs
  std::vector<RecordsEntry> entries;
  if (parse_records(input, entries, no_crc).ok()) {
    for (const RecordsEntry& entry : entries) {
      if (entry.kind == EntryKind::kBatch) {
        exercise(entry.batch);
      }
    }
  }

  if (size < 2) {
    return 0;
  }
  BatchHeader header;
  header.set_codec(static_cast<Codec>(data[0] % 5));
  header.record_count = data[1];
  std::vector<uint8_t> batch(kBatchHeaderBytes);
  batch.insert(batch.end(), data + 2, data + size);
  finish_batch(header, batch);
  auto view = parse_batch(batch);
  if (view.ok()) {
    exercise(*view);
  }
  return 0;
}
