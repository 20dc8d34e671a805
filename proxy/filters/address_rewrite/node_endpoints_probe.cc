#include "proxy/filters/address_rewrite/node_endpoints_probe.h"

#include <string>

#include "common/base/varint.h"

namespace kenc::proxy::address_rewrite {
namespace {

constexpr int16_t kProduce = 0;
constexpr int16_t kFetch = 1;
constexpr int16_t kFirstProduceWithEndpoints = 10;
constexpr int16_t kFirstProduceWithTopicIds = 13;
constexpr int16_t kFirstFetchWithEndpoints = 16;
constexpr uint32_t kNodeEndpointsTag = 0;
constexpr size_t kMaxVarint32Bytes = 5;

// A bounds-checked forward cursor over the wire types these two responses use. The first
// failure sticks; every later step does nothing.
class Skimmer {
 public:
  explicit Skimmer(std::span<const uint8_t> in) : in_(in) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return in_.size() - pos_; }

  void skip(size_t n) {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return;
    }
    pos_ += n;
  }

  uint32_t uvarint() {
    if (!ok_) {
      return 0;
    }
    uint64_t value = 0;
    const size_t n = read_uvarint(in_.subspan(pos_), value, kMaxVarint32Bytes);
    if (n == 0 || value > UINT32_MAX) {
      ok_ = false;
      return 0;
    }
    pos_ += n;
    return static_cast<uint32_t>(value);
  }

  // Compact string, bytes or records: uvarint length+1 (0 = null), then the bytes.
  void skip_compact_bytes() {
    const uint32_t n = uvarint();
    if (n > 0) {
      skip(n - 1);
    }
  }

  // Compact array: uvarint count+1 (0 = null). Every element takes at least one byte, so a
  // count larger than the bytes left is malformed (and cannot make the walk loop for long).
  uint32_t compact_array_count() {
    const uint32_t n = uvarint();
    const uint32_t count = n == 0 ? 0 : n - 1;
    if (count > remaining()) {
      ok_ = false;
      return 0;
    }
    return count;
  }

  // A tagged-field section; true when it holds `wanted`.
  bool skip_tagged_fields(uint32_t wanted = UINT32_MAX) {
    bool found = false;
    for (uint32_t count = uvarint(); count > 0 && ok_; --count) {
      const uint32_t tag = uvarint();
      found = found || tag == wanted;
      skip(uvarint());
    }
    return found && ok_;
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Response header v1: correlation id, tagged fields.
void skip_header(Skimmer& s) {
  s.skip(4);
  s.skip_tagged_fields();
}

// FetchResponse v16-18 up to its top-level tagged fields.
void skip_fetch_body(Skimmer& s) {
  s.skip(4 + 2 + 4);  // throttle_time_ms, error_code, session_id
  for (uint32_t topics = s.compact_array_count(); topics > 0 && s.ok(); --topics) {
    s.skip(16);  // topic_id
    for (uint32_t parts = s.compact_array_count(); parts > 0 && s.ok(); --parts) {
      // partition_index, error_code, high_watermark, last_stable_offset, log_start_offset
      s.skip(4 + 2 + 8 + 8 + 8);
      for (uint32_t aborted = s.compact_array_count(); aborted > 0 && s.ok(); --aborted) {
        s.skip(8 + 8);  // producer_id, first_offset
        s.skip_tagged_fields();
      }
      s.skip(4);               // preferred_read_replica
      s.skip_compact_bytes();  // records: skipped by length, never looked at
      s.skip_tagged_fields();  // diverging epoch, current leader, snapshot id
    }
    s.skip_tagged_fields();
  }
}

// ProduceResponse v10-13 up to its top-level tagged fields.
void skip_produce_body(Skimmer& s, int16_t version) {
  for (uint32_t topics = s.compact_array_count(); topics > 0 && s.ok(); --topics) {
    if (version >= kFirstProduceWithTopicIds) {
      s.skip(16);  // topic_id
    } else {
      s.skip_compact_bytes();  // name
    }
    for (uint32_t parts = s.compact_array_count(); parts > 0 && s.ok(); --parts) {
      // index, error_code, base_offset, log_append_time_ms, log_start_offset
      s.skip(4 + 2 + 8 + 8 + 8);
      for (uint32_t errors = s.compact_array_count(); errors > 0 && s.ok(); --errors) {
        s.skip(4);               // batch_index
        s.skip_compact_bytes();  // batch_index_error_message
        s.skip_tagged_fields();
      }
      s.skip_compact_bytes();  // error_message
      s.skip_tagged_fields();  // current leader
    }
    s.skip_tagged_fields();
  }
  s.skip(4);  // throttle_time_ms
}

}  // namespace

Result<bool> has_node_endpoints(int16_t api_key, int16_t api_version,
                                std::span<const uint8_t> payload) {
  const bool produce = api_key == kProduce && api_version >= kFirstProduceWithEndpoints &&
                       api_version <= kProbeHighestProduceVersion;
  const bool fetch = api_key == kFetch && api_version >= kFirstFetchWithEndpoints &&
                     api_version <= kProbeHighestFetchVersion;
  if (!produce && !fetch) {
    return make_error(ErrorCode::kUnsupported, "no NodeEndpoints walker for API key " +
                                                   std::to_string(api_key) + " v" +
                                                   std::to_string(api_version));
  }
  Skimmer s(payload);
  skip_header(s);
  if (produce) {
    skip_produce_body(s, api_version);
  } else {
    skip_fetch_body(s);
  }
  const bool found = s.skip_tagged_fields(kNodeEndpointsTag);
  if (!s.ok()) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(produce ? "Produce" : "Fetch") + " response is malformed");
  }
  if (s.remaining() != 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::to_string(s.remaining()) + " bytes after the response body");
  }
  return found;
}

}  // namespace kenc::proxy::address_rewrite
