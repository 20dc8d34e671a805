#include "common/kafka/protocol/headers.h"

#include "common/kafka/protocol/api_table.h"

namespace kenc::kafka {
namespace {

Status check_header_version(int16_t header_version, int16_t highest, const char* what) {
  if (header_version < 0 || header_version > highest) {
    return make_error(ErrorCode::kUnsupported, std::string(what) + " header version " +
                                                   std::to_string(header_version) +
                                                   " does not exist");
  }
  return Status::Ok();
}

Result<const ApiInfo*> find_version(int16_t api_key, int16_t api_version) {
  const ApiInfo* api = find_api(api_key);
  if (api == nullptr) {
    return make_error(ErrorCode::kUnsupported, "unknown API key " + std::to_string(api_key));
  }
  if (!api->is_valid_version(api_version)) {
    return make_error(
        ErrorCode::kUnsupported,
        std::string(api->name) + " version " + std::to_string(api_version) + " is not supported");
  }
  return api;
}

}  // namespace

Status RequestHeader::decode(Reader& reader, int16_t header_version) {
  if (Status s = check_header_version(header_version, 2, "request"); !s.ok()) {
    return s;
  }
  api_key = reader.read_int16();
  api_version = reader.read_int16();
  correlation_id = reader.read_int32();
  if (header_version >= 1) {
    reader.read_nullable_string(client_id, /*compact=*/false, /*nullable=*/true);
  } else {
    client_id.reset();
  }
  reader.read_unknown_tagged_fields(unknown_tagged_fields, header_version >= 2);
  return reader.status();
}

Status RequestHeader::encode(Writer& writer, int16_t header_version) const {
  if (Status s = check_header_version(header_version, 2, "request"); !s.ok()) {
    return s;
  }
  writer.write_int16(api_key);
  writer.write_int16(api_version);
  writer.write_int32(correlation_id);
  if (header_version >= 1) {
    writer.write_nullable_string(client_id, /*compact=*/false, /*nullable=*/true);
  } else if (client_id.has_value()) {
    writer.fail_unsupported("ClientId", header_version);
  }
  writer.write_unknown_tagged_fields(unknown_tagged_fields, header_version >= 2);
  return writer.status();
}

size_t RequestHeader::encoded_size(int16_t header_version) const {
  Writer counter = Writer::counting();
  return encode(counter, header_version).ok() ? counter.size() : 0;
}

Status ResponseHeader::decode(Reader& reader, int16_t header_version) {
  if (Status s = check_header_version(header_version, 1, "response"); !s.ok()) {
    return s;
  }
  correlation_id = reader.read_int32();
  reader.read_unknown_tagged_fields(unknown_tagged_fields, header_version >= 1);
  return reader.status();
}

Status ResponseHeader::encode(Writer& writer, int16_t header_version) const {
  if (Status s = check_header_version(header_version, 1, "response"); !s.ok()) {
    return s;
  }
  writer.write_int32(correlation_id);
  writer.write_unknown_tagged_fields(unknown_tagged_fields, header_version >= 1);
  return writer.status();
}

size_t ResponseHeader::encoded_size(int16_t header_version) const {
  Writer counter = Writer::counting();
  return encode(counter, header_version).ok() ? counter.size() : 0;
}

Result<int16_t> request_header_version(int16_t api_key, int16_t api_version) {
  Result<const ApiInfo*> api = find_version(api_key, api_version);
  if (!api.ok()) {
    return api.error();
  }
  return (*api)->request_header_version(api_version);
}

Result<int16_t> response_header_version(int16_t api_key, int16_t api_version) {
  Result<const ApiInfo*> api = find_version(api_key, api_version);
  if (!api.ok()) {
    return api.error();
  }
  return (*api)->response_header_version(api_version);
}

Result<RequestHeader> decode_request_header(Reader& reader) {
  // Peek the fixed prefix on a copy, so the real decode starts at the same position.
  Reader peek = reader;
  const int16_t api_key = peek.read_int16();
  const int16_t api_version = peek.read_int16();
  if (!peek.ok()) {
    return peek.status().error();
  }
  Result<int16_t> header_version = request_header_version(api_key, api_version);
  if (!header_version.ok()) {
    return header_version.error();
  }
  RequestHeader header;
  if (Status s = header.decode(reader, *header_version); !s.ok()) {
    return s.error();
  }
  return header;
}

}  // namespace kenc::kafka
