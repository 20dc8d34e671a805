#include "common/kafka/records/batch_rewriter.h"

#include <string>

#include "common/kafka/records/batch_builder.h"

namespace kenc::kafka::records {

Result<ValueAction> ValueTransform::transform(const BatchHeader& batch, const RecordView& record,
                                              std::vector<uint8_t>& new_value) {
  size_t value_size = 0;
  auto action = plan_value(batch, record, value_size);
  if (!action.ok() || *action != ValueAction::kReplaced) {
    return action;
  }
  new_value.resize(value_size);
  if (Status s = write_value(new_value); !s.ok()) {
    return s.error();
  }
  return ValueAction::kReplaced;
}

Status BatchRewriter::records_section(const BatchView& batch, std::span<const uint8_t>& section) {
  if (batch.header.codec() == Codec::kNone) {
    section = batch.payload;
    return Status::Ok();
  }
  decompressed_.clear();
  ++decompressions_;
  Status s = decompress(batch.header.codec(), batch.payload, decompressed_,
                        options_.max_decompressed_bytes);
  if (!s.ok()) {
    return s;
  }
  section = decompressed_;
  return Status::Ok();
}

Status BatchRewriter::rewrite_values(const BatchView& batch, ValueTransform& transform,
                                     std::vector<uint8_t>& out) {
  std::span<const uint8_t> section;
  Status s = records_section(batch, section);
  if (!s.ok()) {
    return s;
  }
  return rebuild(batch, section, transform, out);
}

Result<bool> BatchRewriter::rewrite_values_if_needed(const BatchView& batch,
                                                     ValueTransform& transform,
                                                     std::vector<uint8_t>& out) {
  std::span<const uint8_t> section;
  Status s = records_section(batch, section);
  if (!s.ok()) {
    return s.error();
  }
  RecordReader scan(section, batch.header.record_count);
  RecordView record;
  bool needed = false;
  while (!needed && scan.next(record)) {
    needed = transform.needs_rewrite(record);
  }
  if (!needed) {
    if (!scan.status().ok()) {
      return scan.status().error();
    }
    return false;
  }
  s = rebuild(batch, section, transform, out);
  if (!s.ok()) {
    return s.error();
  }
  return true;
}

Status BatchRewriter::rebuild(const BatchView& batch, std::span<const uint8_t> section,
                              ValueTransform& transform, std::vector<uint8_t>& out) {
  // An uncompressed batch is built in place in `out`, after room for its header: no copy of its
  // records from a scratch buffer. A compressed one is built in rebuilt_records_ and compressed
  // into `out`.
  const bool in_place = batch.header.codec() == Codec::kNone;
  const size_t start = out.size();
  std::vector<uint8_t>& records = in_place ? out : rebuilt_records_;
  if (in_place) {
    out.resize(start + kBatchHeaderBytes);
  } else {
    rebuilt_records_.clear();
  }
  auto fail = [&](const Status& s) {
    if (in_place) {
      out.resize(start);  // on error nothing is appended
    }
    return s;
  };
  RecordReader reader(section, batch.header.record_count);
  RecordView record;
  int32_t seen = 0;
  const bool values_in_place = transform.values_in_place();
  while (reader.next(record)) {
    new_value_.clear();
    size_t value_size = 0;
    auto action = values_in_place ? transform.plan_value(batch.header, record, value_size)
                                  : transform.transform(batch.header, record, new_value_);
    if (!action.ok()) {
      return fail(action.error());
    }
    new_headers_.clear();
    std::span<const uint8_t> headers = record.encoded_headers;
    if (transform.rewrite_headers(record, *action, new_headers_)) {
      headers = new_headers_;
    }
    if (values_in_place && *action == ValueAction::kReplaced) {
      const size_t value_at =
          append_record_with_value_room(records, record.attributes, record.timestamp_delta,
                                        record.offset_delta, record.key, value_size, headers);
      Status written =
          transform.write_value(std::span<uint8_t>(records).subspan(value_at, value_size));
      if (!written.ok()) {
        return fail(written);
      }
      ++seen;
      continue;
    }
    NullableBytes value = record.value;
    if (*action == ValueAction::kReplaced) {
      value = NullableBytes(new_value_);
    }
    if (*action == ValueAction::kNull) {
      value = NullableBytes::null();
    }
    append_record(records, record.attributes, record.timestamp_delta, record.offset_delta,
                  record.key, value, headers);
    ++seen;
  }
  if (!reader.status().ok()) {
    return fail(reader.status());
  }
  if (seen != batch.header.record_count) {
    return fail(make_error(ErrorCode::kInvalidArgument,
                           "record batch declares " + std::to_string(batch.header.record_count) +
                               " records but holds " + std::to_string(seen)));
  }
  if (in_place) {
    finish_batch(batch.header, std::span<uint8_t>(out).subspan(start));
    return Status::Ok();
  }
  return write_batch(batch.header, rebuilt_records_, out);
}

Status rewrite_batch_values(const BatchView& batch, ValueTransform& transform,
                            std::vector<uint8_t>& out) {
  thread_local BatchRewriter rewriter;
  return rewriter.rewrite_values(batch, transform, out);
}

}  // namespace kenc::kafka::records
