// libFuzzer target for the frame reader and the header codecs: the input is a byte stream cut
// into size-prefixed frames, each decoded as a request (header, then body by API key and
// version) and as a response (correlation id, both header versions).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/kafka/frame.h"
#include "common/kafka/protocol/dispatch.h"
#include "common/kafka/protocol/headers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kenc;
  using namespace kenc::kafka;
  constexpr int32_t kMaxFrame = 1 << 20;
  std::span<const uint8_t> stream(data, size);
  while (stream.size() >= kFrameSizeBytes) {
    Result<int32_t> frame_size = parse_frame_size(stream.first<kFrameSizeBytes>(), kMaxFrame);
    if (!frame_size.ok()) {
      return 0;
    }
    stream = stream.subspan(kFrameSizeBytes);
    if (static_cast<size_t>(*frame_size) > stream.size()) {
      return 0;  // incomplete frame: a reader would wait for more bytes
    }
    // An exactly-sized copy, so ASan sees any read past the end of the frame.
    SharedBytes frame(std::vector<uint8_t>(stream.begin(), stream.begin() + *frame_size));
    stream = stream.subspan(static_cast<size_t>(*frame_size));

    (void)peek_response_correlation_id(frame.view());
    for (int16_t header_version : {0, 1}) {
      Reader reader(frame);
      ResponseHeader response;
      (void)response.decode(reader, header_version);
    }
    if (!peek_request_header(frame.view()).ok()) {
      continue;
    }
    Reader reader(frame);
    Result<RequestHeader> header = decode_request_header(reader);
    if (!header.ok()) {
      continue;
    }
    (void)decode_message(header->api_key, MessageKind::kRequest, header->api_version, reader);
  }
  return 0;
}
