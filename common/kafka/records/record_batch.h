#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/base/result.h"
#include "common/kafka/records/compression.h"

namespace kenc::kafka::records {

// Magic v2 record batch layout (all big-endian):
//   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
//   attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
//   producerId int64 | producerEpoch int16 | baseSequence int32 | recordCount int32 | records...
// batchLength counts everything after itself; the CRC32C covers attributes..end.
inline constexpr size_t kBatchHeaderBytes = 61;
inline constexpr size_t kBatchLogOverheadBytes = 12;  // baseOffset + batchLength
inline constexpr size_t kMagicOffset = 16;            // the same in magic v0, v1 and v2
inline constexpr size_t kCrcOffset = 17;
inline constexpr size_t kAttributesOffset = 21;
inline constexpr int8_t kMagicV2 = 2;

enum class TimestampType : uint8_t { kCreateTime = 0, kLogAppendTime = 1 };

// The batch header fields, decoded. A rebuilt batch copies every one of them.
struct BatchHeader {
  static constexpr int16_t kCodecMask = 0x07;
  static constexpr int16_t kTimestampTypeBit = 0x08;
  static constexpr int16_t kTransactionalBit = 0x10;
  static constexpr int16_t kControlBit = 0x20;
  static constexpr int16_t kDeleteHorizonBit = 0x40;

  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = -1;
  int8_t magic = kMagicV2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;  // the delete horizon when has_delete_horizon()
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  Codec codec() const { return static_cast<Codec>(attributes & kCodecMask); }
  TimestampType timestamp_type() const {
    return (attributes & kTimestampTypeBit) ? TimestampType::kLogAppendTime
                                            : TimestampType::kCreateTime;
  }
  bool is_transactional() const { return (attributes & kTransactionalBit) != 0; }
  bool is_control() const { return (attributes & kControlBit) != 0; }
  bool has_delete_horizon() const { return (attributes & kDeleteHorizonBit) != 0; }
  void set_codec(Codec c) {
    attributes = static_cast<int16_t>((attributes & ~kCodecMask) | static_cast<int16_t>(c));
  }
};

// One complete magic v2 batch inside a records blob. `bytes` is the whole batch (base offset to
// the end); `payload` is the records section after the 61-byte header, still compressed.
struct BatchView {
  BatchHeader header;
  std::span<const uint8_t> bytes;
  std::span<const uint8_t> payload;
};

// What a records blob is made of. Fetch responses may end with a partial batch (the broker cuts
// at the byte limit); legacy magic v0/v1 message sets are recognised but not decoded.
enum class EntryKind : uint8_t { kBatch, kLegacy, kTruncated };

struct RecordsEntry {
  EntryKind kind = EntryKind::kBatch;
  std::span<const uint8_t> bytes;  // the raw bytes of the entry, to forward untouched
  BatchView batch;                 // meaningful for kBatch only
};

struct ParseOptions {
  bool verify_crc = true;
};

// Decodes the header of the batch at the front of `bytes`, which must hold the whole batch
// (exactly `12 + batchLength` bytes or more; extra bytes are ignored). Checks the magic, the
// lengths, the record count against the bytes left, and (by default) the CRC.
Result<BatchView> parse_batch(std::span<const uint8_t> bytes, const ParseOptions& options = {});

// Splits a `records` field (batches back to back) into entries, appended to `out`. A partial
// batch can only be the last entry and is reported as kTruncated; magic 0/1 entries are kLegacy.
// Errors: a corrupt v2 batch (bad length, bad CRC, unknown magic).
Status parse_records(std::span<const uint8_t> records, std::vector<RecordsEntry>& out,
                     const ParseOptions& options = {});

// Writes the 61-byte header of `header` at the front of `out` (which has at least 61 bytes),
// with batch_length = out.size() - 12 and the CRC computed over out[21..]. `header.batch_length`
// and `header.crc` are ignored. The records section must already follow the header.
void finish_batch(const BatchHeader& header, std::span<uint8_t> out);

}  // namespace kenc::kafka::records
