#include "proxy/net/produce_acks.h"

#include "common/base/varint.h"

namespace kenc::proxy {
namespace {

constexpr int16_t kFirstFlexibleProduceVersion = 9;
constexpr int16_t kFirstTransactionalProduceVersion = 3;

// A bounds-checked cursor over the request bytes.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> in) : in_(in) {}

  bool skip(size_t n) {
    if (n > in_.size() - pos_) {
      return false;
    }
    pos_ += n;
    return true;
  }
  bool int16(int16_t& out) {
    if (in_.size() - pos_ < 2) {
      return false;
    }
    out = static_cast<int16_t>((in_[pos_] << 8) | in_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool uvarint(uint64_t& out) {
    const size_t n = read_uvarint(in_.subspan(pos_), out, 5);
    pos_ += n;
    return n != 0;
  }
  // int16 length (-1 = null) then bytes.
  bool nullable_string() {
    int16_t len = 0;
    if (!int16(len)) {
      return false;
    }
    return len < 0 ? len == -1 : skip(static_cast<size_t>(len));
  }
  // uvarint length+1 (0 = null) then bytes.
  bool compact_nullable_string() {
    uint64_t len_plus_one = 0;
    if (!uvarint(len_plus_one)) {
      return false;
    }
    return len_plus_one == 0 || skip(len_plus_one - 1);
  }
  bool tagged_fields() {
    uint64_t count = 0;
    if (!uvarint(count)) {
      return false;
    }
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t tag = 0;
      uint64_t size = 0;
      if (!uvarint(tag) || !uvarint(size) || !skip(size)) {
        return false;
      }
    }
    return true;
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

}  // namespace

Result<int16_t> peek_produce_acks(std::span<const uint8_t> payload, int16_t api_version) {
  Cursor c(payload);
  const bool flexible = api_version >= kFirstFlexibleProduceVersion;
  // api key, api version, correlation id, then the client id (a non-compact nullable string
  // even in header v2).
  bool ok = c.skip(8) && c.nullable_string();
  if (ok && flexible) {
    ok = c.tagged_fields();
  }
  if (ok && api_version >= kFirstTransactionalProduceVersion) {
    ok = flexible ? c.compact_nullable_string() : c.nullable_string();
  }
  int16_t acks = 0;
  if (!ok || !c.int16(acks)) {
    return make_error(ErrorCode::kOutOfRange, "produce request too short to hold its acks field");
  }
  return acks;
}

}  // namespace kenc::proxy
