// libFuzzer target for every generated message decoder. Input: int16 API key, int16 version,
// one byte whose low bit picks request (0) or response (1), then the body. Whatever decodes must
// re-encode, decode back to an equal message, and then re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "common/kafka/protocol/dispatch.h"

namespace {

int16_t be16(const uint8_t* p) { return static_cast<int16_t>((p[0] << 8) | p[1]); }

[[noreturn]] void violated() { std::abort(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kenc;
  using namespace kenc::kafka;
  if (size < 5) {
    return 0;
  }
  const int16_t api_key = be16(data);
  const int16_t version = be16(data + 2);
  const MessageKind kind = (data[4] & 1) != 0 ? MessageKind::kResponse : MessageKind::kRequest;
  // An exactly-sized copy, so ASan sees any read past the end of the body.
  Reader reader{SharedBytes(std::vector<uint8_t>(data + 5, data + size))};
  Result<std::unique_ptr<Message>> decoded = decode_message(api_key, kind, version, reader);
  if (!decoded.ok()) {
    return 0;
  }
  if (reader.position() > size - 5) {
    violated();
  }
  Result<std::vector<uint8_t>> encoded = (*decoded)->encode(version);
  if (!encoded.ok()) {
    violated();
  }
  if ((*decoded)->encoded_size(version) != encoded->size()) {
    violated();
  }
  // The first re-encoding may normalise (minimal varints, bool bytes, tags left at their default
  // dropped); from then on the bytes must be stable.
  Reader again{SharedBytes(*encoded)};
  Result<std::unique_ptr<Message>> redecoded = decode_message(api_key, kind, version, again);
  if (!redecoded.ok() || again.remaining() != 0 || !(*redecoded)->equals(**decoded)) {
    violated();
  }
  Result<std::vector<uint8_t>> reencoded = (*redecoded)->encode(version);
  if (!reencoded.ok() || *reencoded != *encoded) {
    violated();
  }
  return 0;
}
