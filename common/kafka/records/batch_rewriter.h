#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/base/result.h"
#include "common/kafka/records/compression.h"
#include "common/kafka/records/record.h"
#include "common/kafka/records/record_batch.h"

namespace kenc::kafka::records {

// What a ValueTransform did with one record's value.
enum class ValueAction : uint8_t {
  kUnchanged,  // keep the original value (null stays null)
  kReplaced,   // the new value is the bytes appended to `new_value`
  kNull,       // the new value is null
};

// Called once per record by BatchRewriter. `record` points into the decompressed batch; the
// base offset and timestamp of the batch are in `batch`. `new_value` is an empty buffer owned by
// the rewriter and reused across records and calls (no allocation once warm). Returning an error
// aborts the rewrite of the batch.
class ValueTransform {
 public:
  virtual ~ValueTransform() = default;
  // Every transform overrides either this or the two-step form below (values_in_place(),
  // plan_value(), write_value()); by default this one runs the two steps into `new_value`.
  virtual Result<ValueAction> transform(const BatchHeader& batch, const RecordView& record,
                                        std::vector<uint8_t>& new_value);

  // Optional: whether this record needs transform() at all. rewrite_values_if_needed() asks it
  // for every record first and leaves a batch in which no record needs it untouched.
  virtual bool needs_rewrite(const RecordView& /*record*/) { return true; }

  // Optional: new encoded headers for the record just transformed (header count varint, then the
  // headers, as append_headers() writes them). Append them to `new_headers` (empty, reused like
  // `new_value`) and return true; return false to keep the record's headers as they are.
  virtual bool rewrite_headers(const RecordView& /*record*/, ValueAction /*action*/,
                               std::vector<uint8_t>& /*new_headers*/) {
    return false;
  }

  // Optional, for transforms that know a new value's size before its bytes (ciphers): when
  // values_in_place() is true the rewriter calls plan_value() instead of transform(); for
  // kReplaced it asks rewrite_headers(), leaves `value_size` bytes inside the rebuilt record and
  // has write_value() fill exactly those. Values then go straight into the batch instead of
  // through `new_value` and a copy. An error from either call aborts the batch like one from
  // transform().
  virtual bool values_in_place() const { return false; }
  virtual Result<ValueAction> plan_value(const BatchHeader& /*batch*/, const RecordView& /*record*/,
                                         size_t& /*value_size*/) {
    return make_error(ErrorCode::kInternal, "plan_value() is not implemented");
  }
  virtual Status write_value(std::span<uint8_t> /*out*/) {
    return make_error(ErrorCode::kInternal, "write_value() is not implemented");
  }
};

struct RewriteOptions {
  size_t max_decompressed_bytes = kDefaultMaxDecompressedBytes;
};

// The encryption filter's hot path: decompress a batch once, walk its records, let the transform
// rewrite each value, rebuild the batch with every header field preserved, recompress with the
// same codec and write the CRC last. Keep one rewriter per thread: its buffers are reused.
class BatchRewriter {
 public:
  explicit BatchRewriter(RewriteOptions options = {}) : options_(options) {}

  // Appends the rewritten batch to `out`. On error nothing is appended.
  Status rewrite_values(const BatchView& batch, ValueTransform& transform,
                        std::vector<uint8_t>& out);

  // Like rewrite_values, for a batch whose records section was just obtained from this
  // rewriter's records_section() (no second decompression).
  Status rewrite_values_of_section(const BatchView& batch, std::span<const uint8_t> section,
                                   ValueTransform& transform, std::vector<uint8_t>& out) {
    return rebuild(batch, section, transform, out);
  }

  // Like rewrite_values, but first asks transform.needs_rewrite() of each record and, when no
  // record needs rewriting, appends nothing and returns false: the caller keeps the original
  // batch bytes (no recompression). Decompresses only once either way.
  Result<bool> rewrite_values_if_needed(const BatchView& batch, ValueTransform& transform,
                                        std::vector<uint8_t>& out);

  // Decompresses the records section of `batch` (or points at it when uncompressed) and checks
  // that it holds exactly record_count records. `section` stays valid until the next call.
  Status records_section(const BatchView& batch, std::span<const uint8_t>& section);
  // Counts the decompressions records_section() made: a caller that kept a section and still
  // reads the same count knows the section was not overwritten since (e.g. by another
  // coroutine sharing this thread's rewriter while the caller was suspended).
  uint64_t decompressions() const { return decompressions_; }

 private:
  Status rebuild(const BatchView& batch, std::span<const uint8_t> section,
                 ValueTransform& transform, std::vector<uint8_t>& out);

  RewriteOptions options_;
  std::vector<uint8_t> decompressed_;
  uint64_t decompressions_ = 0;
  std::vector<uint8_t> rebuilt_records_;
  std::vector<uint8_t> new_value_;
  std::vector<uint8_t> new_headers_;
};

// A convenience wrapper around a thread-local BatchRewriter with default options.
Status rewrite_batch_values(const BatchView& batch, ValueTransform& transform,
                            std::vector<uint8_t>& out);

}  // namespace kenc::kafka::records
