#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/base/result.h"
#include "common/kafka/protocol/reader.h"
#include "common/kafka/protocol/types.h"
#include "common/kafka/protocol/writer.h"

namespace kenc::kafka {

// Request header, versions 0-2. v0: key, version, correlation id. v1 adds the client id, a
// nullable int16-length string. v2 (flexible requests) adds a tagged-field section but keeps the
// client id NON-compact, for brokers that must read it before they know the API's format.
struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;   // v1+
  RawTaggedFields unknown_tagged_fields;  // v2+

  // Decodes from the reader's position; on success the reader stands at the request body.
  Status decode(Reader& reader, int16_t header_version);
  Status encode(Writer& writer, int16_t header_version) const;
  size_t encoded_size(int16_t header_version) const;
  bool operator==(const RequestHeader&) const = default;
};

// Response header, versions 0-1. v0: correlation id. v1 (flexible responses, except ApiVersions)
// adds a tagged-field section.
struct ResponseHeader {
  int32_t correlation_id = 0;
  RawTaggedFields unknown_tagged_fields;  // v1

  Status decode(Reader& reader, int16_t header_version);
  Status encode(Writer& writer, int16_t header_version) const;
  size_t encoded_size(int16_t header_version) const;
  bool operator==(const ResponseHeader&) const = default;
};

// Header versions for (api_key, api_version) from the API table. kUnsupported for an API key
// or version the pinned Kafka release does not define: such frames are forwarded untouched.
Result<int16_t> request_header_version(int16_t api_key, int16_t api_version);
Result<int16_t> response_header_version(int16_t api_key, int16_t api_version);

// Decodes a whole request header from the start of a request frame (without its size prefix),
// choosing the header version from the API key and version it starts with.
Result<RequestHeader> decode_request_header(Reader& reader);

}  // namespace kenc::kafka
