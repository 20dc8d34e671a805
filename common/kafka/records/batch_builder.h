#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/result.h"
#include "common/kafka/records/record.h"
#include "common/kafka/records/record_batch.h"

namespace kenc::kafka::records {

// Builds one magic v2 batch. The header fields (producer id/epoch, base sequence, base offset,
// timestamps, attributes incl. codec, transactional and control bits, leader epoch) are taken
// from `header` as given; record_count and last_offset_delta follow from the records added
// unless set explicitly. The records are compressed with header.codec(); the length and CRC are
// written last. A builder can be reused: reset() keeps its buffers.
class BatchBuilder {
 public:
  explicit BatchBuilder(const BatchHeader& header = {}) { reset(header); }

  void reset(const BatchHeader& header);

  void add(int64_t timestamp_delta, int32_t offset_delta, NullableBytes key, NullableBytes value,
           std::span<const HeaderInput> headers = {});
  // Adds a record whose headers are already encoded (count varint + headers).
  void add_encoded(int8_t attributes, int64_t timestamp_delta, int32_t offset_delta,
                   NullableBytes key, NullableBytes value,
                   std::span<const uint8_t> encoded_headers);

  // Overrides the computed last offset delta (a compacted batch keeps its original one).
  void set_last_offset_delta(int32_t delta) { last_offset_delta_override_ = delta; }

  int32_t record_count() const { return record_count_; }
  std::span<const uint8_t> uncompressed_records() const { return records_; }

  // Appends the finished batch to `out`.
  Status finish(std::vector<uint8_t>& out);

 private:
  BatchHeader header_;
  std::vector<uint8_t> records_;
  std::vector<uint8_t> header_scratch_;
  int32_t record_count_ = 0;
  int32_t max_offset_delta_ = 0;
  int32_t last_offset_delta_override_ = -1;
};

// Appends a batch built from `header` (record_count and last_offset_delta as given) and an
// uncompressed records section, compressed with header.codec().
Status write_batch(const BatchHeader& header, std::span<const uint8_t> uncompressed_records,
                   std::vector<uint8_t>& out);

}  // namespace kenc::kafka::records
