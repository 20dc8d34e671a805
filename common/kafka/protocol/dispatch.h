#pragma once

#include <cstdint>
#include <memory>

#include "common/base/result.h"
#include "common/kafka/protocol/message.h"

namespace kenc::kafka {

// A default-constructed body of the given API key and kind; nullptr for an unknown API key.
// (Generated: one case per API key.)
std::unique_ptr<Message> create_message(int16_t api_key, MessageKind kind);

// Decodes a request or response body of (api_key, version) from the reader's position. Errors:
// kUnsupported for an unknown API key or version (the proxy forwards such frames untouched),
// kOutOfRange/kInvalidArgument for malformed bytes.
Result<std::unique_ptr<Message>> decode_message(int16_t api_key, MessageKind kind, int16_t version,
                                                Reader& reader);

// The concrete type behind a Message whose API key the caller has checked, e.g.
// `message_cast<ProduceRequest>(*m)`; nullptr if it is another type.
template <typename T>
T* message_cast(Message& message) {
  return &message.descriptor() == &T::kDescriptor ? static_cast<T*>(&message) : nullptr;
}
template <typename T>
const T* message_cast(const Message& message) {
  return &message.descriptor() == &T::kDescriptor ? static_cast<const T*>(&message) : nullptr;
}

}  // namespace kenc::kafka
