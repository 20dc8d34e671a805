#include "common/kafka/protocol/dispatch.h"

#include <string>

namespace kenc::kafka {

Result<std::unique_ptr<Message>> decode_message(int16_t api_key, MessageKind kind, int16_t version,
                                                Reader& reader) {
  std::unique_ptr<Message> message = create_message(api_key, kind);
  if (!message) {
    return make_error(ErrorCode::kUnsupported, "unknown API key " + std::to_string(api_key));
  }
  if (Status status = message->decode(reader, version); !status.ok()) {
    return status.error();
  }
  return message;
}

}  // namespace kenc::kafka
