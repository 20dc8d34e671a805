#include "common/kafka/records/record_batch.h"

#include <string>

#include "common/kafka/records/big_endian.h"
#include "common/kafka/records/crc32c.h"

namespace kenc::kafka::records {

using detail::load_be16;
using detail::load_be32;
using detail::load_be64;
using detail::store_be16;
using detail::store_be32;
using detail::store_be64;

namespace {

// The smallest record is 7 bytes (length, attributes, timestamp delta, offset delta, key length,
// value length, header count): a count above payload/7 cannot be honest.
constexpr size_t kMinRecordBytes = 7;

Error invalid(std::string what) { return make_error(ErrorCode::kInvalidArgument, std::move(what)); }

}  // namespace

Result<BatchView> parse_batch(std::span<const uint8_t> bytes, const ParseOptions& options) {
  if (bytes.size() < kBatchHeaderBytes) {
    return make_error(ErrorCode::kOutOfRange, "record batch shorter than its 61-byte header");
  }
  const uint8_t* p = bytes.data();
  BatchHeader h;
  h.base_offset = static_cast<int64_t>(load_be64(p));
  h.batch_length = static_cast<int32_t>(load_be32(p + 8));
  h.partition_leader_epoch = static_cast<int32_t>(load_be32(p + 12));
  h.magic = static_cast<int8_t>(p[kMagicOffset]);
  if (h.magic != kMagicV2) {
    return make_error(ErrorCode::kUnsupported,
                      "record batch magic " + std::to_string(h.magic) + " is not 2");
  }
  if (h.batch_length < static_cast<int32_t>(kBatchHeaderBytes - kBatchLogOverheadBytes)) {
    return invalid("record batch length " + std::to_string(h.batch_length) + " is too small");
  }
  const size_t total = kBatchLogOverheadBytes + static_cast<size_t>(h.batch_length);
  if (total > bytes.size()) {
    return make_error(ErrorCode::kOutOfRange, "record batch of " + std::to_string(total) +
                                                  " bytes runs past the " +
                                                  std::to_string(bytes.size()) + " available");
  }
  h.crc = load_be32(p + kCrcOffset);
  h.attributes = static_cast<int16_t>(load_be16(p + kAttributesOffset));
  h.last_offset_delta = static_cast<int32_t>(load_be32(p + 23));
  h.base_timestamp = static_cast<int64_t>(load_be64(p + 27));
  h.max_timestamp = static_cast<int64_t>(load_be64(p + 35));
  h.producer_id = static_cast<int64_t>(load_be64(p + 43));
  h.producer_epoch = static_cast<int16_t>(load_be16(p + 51));
  h.base_sequence = static_cast<int32_t>(load_be32(p + 53));
  h.record_count = static_cast<int32_t>(load_be32(p + 57));
  if (static_cast<int>(h.codec()) > static_cast<int>(Codec::kZstd)) {
    return make_error(ErrorCode::kUnsupported,
                      "record batch codec " + std::to_string(h.attributes & 7) + " is unknown");
  }
  if (h.record_count < 0) {
    return invalid("negative record count");
  }
  BatchView view;
  view.bytes = bytes.first(total);
  view.payload = view.bytes.subspan(kBatchHeaderBytes);
  // An uncompressed batch must hold at least the minimal bytes per record before anything is
  // sized from the count. (Compressed payloads are checked after decompression.)
  if (h.codec() == Codec::kNone &&
      static_cast<size_t>(h.record_count) > view.payload.size() / kMinRecordBytes) {
    return invalid("record count " + std::to_string(h.record_count) +
                   " exceeds what the batch can hold");
  }
  if (options.verify_crc) {
    uint32_t actual = crc32c(view.bytes.subspan(kAttributesOffset));
    if (actual != h.crc) {
      return make_error(ErrorCode::kDataLoss, "record batch CRC mismatch (stored " +
                                                  std::to_string(h.crc) + ", computed " +
                                                  std::to_string(actual) + ")");
    }
  }
  view.header = h;
  return view;
}

Status parse_records(std::span<const uint8_t> records, std::vector<RecordsEntry>& out,
                     const ParseOptions& options) {
  size_t pos = 0;
  while (pos < records.size()) {
    auto rest = records.subspan(pos);
    RecordsEntry entry;
    // Too short to tell its length and magic, or its length runs past the end: a partial batch.
    if (rest.size() < kMagicOffset + 1) {
      entry.kind = EntryKind::kTruncated;
      entry.bytes = rest;
      out.push_back(entry);
      return Status::Ok();
    }
    auto length = static_cast<int32_t>(load_be32(rest.data() + 8));
    if (length < 0) {
      return invalid("negative record batch length");
    }
    size_t total = kBatchLogOverheadBytes + static_cast<size_t>(length);
    if (total > rest.size()) {
      entry.kind = EntryKind::kTruncated;
      entry.bytes = rest;
      out.push_back(entry);
      return Status::Ok();
    }
    auto magic = static_cast<int8_t>(rest[kMagicOffset]);
    if (magic == 0 || magic == 1) {
      entry.kind = EntryKind::kLegacy;
      entry.bytes = rest.first(total);
    } else {
      auto batch = parse_batch(rest.first(total), options);
      if (!batch.ok()) {
        return batch.error();
      }
      entry.kind = EntryKind::kBatch;
      entry.bytes = batch->bytes;
      entry.batch = *batch;
    }
    out.push_back(entry);
    pos += total;
  }
  return Status::Ok();
}

void finish_batch(const BatchHeader& header, std::span<uint8_t> out) {
  uint8_t* p = out.data();
  store_be64(p, static_cast<uint64_t>(header.base_offset));
  store_be32(p + 8, static_cast<uint32_t>(out.size() - kBatchLogOverheadBytes));
  store_be32(p + 12, static_cast<uint32_t>(header.partition_leader_epoch));
  p[kMagicOffset] = static_cast<uint8_t>(kMagicV2);
  store_be16(p + kAttributesOffset, static_cast<uint16_t>(header.attributes));
  store_be32(p + 23, static_cast<uint32_t>(header.last_offset_delta));
  store_be64(p + 27, static_cast<uint64_t>(header.base_timestamp));
  store_be64(p + 35, static_cast<uint64_t>(header.max_timestamp));
  store_be64(p + 43, static_cast<uint64_t>(header.producer_id));
  store_be16(p + 51, static_cast<uint16_t>(header.producer_epoch));
  store_be32(p + 53, static_cast<uint32_t>(header.base_sequence));
  store_be32(p + 57, static_cast<uint32_t>(header.record_count));
  // The CRC goes in last: it covers every byte after it.
  store_be32(p + kCrcOffset, crc32c(out.subspan(kAttributesOffset)));
}

}  // namespace kenc::kafka::records
