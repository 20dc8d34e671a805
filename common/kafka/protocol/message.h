#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/base/result.h"
#include "common/kafka/protocol/reader.h"
#include "common/kafka/protocol/writer.h"

namespace kenc::kafka {

enum class MessageKind : uint8_t { kRequest, kResponse };

// Static facts about one generated message type.
struct MessageDescriptor {
  const char* name;  // e.g. "ProduceRequest"
  int16_t api_key;
  MessageKind kind;
  int16_t lowest_version;
  int16_t highest_version;
  int16_t first_flexible_version;  // -1: no flexible version

  bool is_valid_version(int16_t version) const {
    return version >= lowest_version && version <= highest_version;
  }
  bool is_flexible(int16_t version) const {
    return first_flexible_version >= 0 && version >= first_flexible_version;
  }
};

// The type-erased face of every generated request and response body. The proxy, the fuzz target
// and the round-trip tests use it to handle a body by (API key, version) without knowing its C++
// type; a filter that knows the API key casts to the concrete type (see dispatch.h).
class Message {
 public:
  virtual ~Message() = default;

  virtual const MessageDescriptor& descriptor() const = 0;
  // Sticky-error codecs (see Reader and Writer); `version` must be valid for the message.
  virtual void read(Reader& reader, int16_t version) = 0;
  virtual void write(Writer& writer, int16_t version) const = 0;
  // Same concrete type and equal fields.
  virtual bool equals(const Message& other) const = 0;
  virtual std::unique_ptr<Message> clone() const = 0;

  // Checks the version, then decodes from the reader's position; on success the reader stands
  // right after the message.
  Status decode(Reader& reader, int16_t version);
  Status encode(Writer& writer, int16_t version) const;
  Result<std::vector<uint8_t>> encode(int16_t version) const;
  // Bytes that `encode(version)` writes (0 if it would fail).
  size_t encoded_size(int16_t version) const;

 protected:
  Message() = default;
  Message(const Message&) = default;
  Message(Message&&) = default;
  Message& operator=(const Message&) = default;
  Message& operator=(Message&&) = default;
};

}  // namespace kenc::kafka
