#include "common/kafka/records/batch_builder.h"

#include <algorithm>

namespace kenc::kafka::records {

void BatchBuilder::reset(const BatchHeader& header) {
  header_ = header;
  records_.clear();
  record_count_ = 0;
  max_offset_delta_ = 0;
  last_offset_delta_override_ = -1;
}

void BatchBuilder::add(int64_t timestamp_delta, int32_t offset_delta, NullableBytes key,
                       NullableBytes value, std::span<const HeaderInput> headers) {
  header_scratch_.clear();
  append_headers(header_scratch_, headers);
  add_encoded(0, timestamp_delta, offset_delta, key, value, header_scratch_);
}

void BatchBuilder::add_encoded(int8_t attributes, int64_t timestamp_delta, int32_t offset_delta,
                               NullableBytes key, NullableBytes value,
                               std::span<const uint8_t> encoded_headers) {
  append_record(records_, attributes, timestamp_delta, offset_delta, key, value, encoded_headers);
  ++record_count_;
  max_offset_delta_ = std::max(max_offset_delta_, offset_delta);
}

Status BatchBuilder::finish(std::vector<uint8_t>& out) {
  BatchHeader h = header_;
  h.record_count = record_count_;
  h.last_offset_delta =
      last_offset_delta_override_ >= 0 ? last_offset_delta_override_ : max_offset_delta_;
  return write_batch(h, records_, out);
}

Status write_batch(const BatchHeader& header, std::span<const uint8_t> uncompressed_records,
                   std::vector<uint8_t>& out) {
  const size_t start = out.size();
  out.resize(start + kBatchHeaderBytes);  // placeholder, patched by finish_batch()
  Status s = compress(header.codec(), uncompressed_records, out);
  if (!s.ok()) {
    out.resize(start);
    return s;
  }
  finish_batch(header, std::span<uint8_t>(out).subspan(start));
  return Status::Ok();
}

}  // namespace kenc::kafka::records
