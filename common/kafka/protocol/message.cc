#include "common/kafka/protocol/message.h"

#include <string>

namespace kenc::kafka {
namespace {

Status check_version(const MessageDescriptor& d, int16_t version) {
  if (!d.is_valid_version(version)) {
    return make_error(ErrorCode::kUnsupported, std::string(d.name) + " version " +
                                                   std::to_string(version) + " is outside " +
                                                   std::to_string(d.lowest_version) + ".." +
                                                   std::to_string(d.highest_version));
  }
  return Status::Ok();
}

}  // namespace

Status Message::decode(Reader& reader, int16_t version) {
  if (Status s = check_version(descriptor(), version); !s.ok()) {
    return s;
  }
  read(reader, version);
  return reader.status();
}

Status Message::encode(Writer& writer, int16_t version) const {
  if (Status s = check_version(descriptor(), version); !s.ok()) {
    return s;
  }
  write(writer, version);
  return writer.status();
}

Result<std::vector<uint8_t>> Message::encode(int16_t version) const {
  Writer writer;
  if (Status s = encode(writer, version); !s.ok()) {
    return s.error();
  }
  const ByteBuffer& bytes = writer.bytes();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

size_t Message::encoded_size(int16_t version) const {
  Writer counter = Writer::counting();
  if (!encode(counter, version).ok()) {
    return 0;
  }
  return counter.size();
}

}  // namespace kenc::kafka
