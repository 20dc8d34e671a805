#include "common/crypto/edek.h"

#include "common/base/varint.h"

namespace kenc::crypto {

Result<std::vector<uint8_t>> serialize_edek(const Edek& edek) {
  if (edek.kek_id.empty() || edek.kek_id.size() > kMaxKekIdBytes) {
    return make_error(ErrorCode::kInvalidArgument, "KEK id must be 1 to 255 bytes");
  }
  if (edek.kek_version == 0) {
    return make_error(ErrorCode::kInvalidArgument, "KEK version must be at least 1");
  }
  if (edek.wrapped.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "wrapped DEK is empty");
  }
  std::vector<uint8_t> out;
  out.reserve(1 + edek.kek_id.size() + uvarint_size(edek.kek_version) + edek.wrapped.size());
  out.push_back(static_cast<uint8_t>(edek.kek_id.size()));
  out.insert(out.end(), edek.kek_id.begin(), edek.kek_id.end());
  append_uvarint(out, edek.kek_version);
  out.insert(out.end(), edek.wrapped.begin(), edek.wrapped.end());
  return out;
}

Result<EdekView> parse_edek_view(std::span<const uint8_t> bytes) {
  if (bytes.empty() || bytes[0] == 0) {
    return make_error(ErrorCode::kInvalidArgument, "EDEK has no KEK id");
  }
  size_t id_len = bytes[0];
  if (bytes.size() < 1 + id_len) {
    return make_error(ErrorCode::kOutOfRange, "EDEK truncated in its KEK id");
  }
  EdekView view;
  view.kek_id = std::string_view(reinterpret_cast<const char*>(bytes.data() + 1), id_len);
  uint64_t version = 0;
  size_t used = read_uvarint(bytes.subspan(1 + id_len), version, kMaxVarint32Bytes);
  if (used == 0 || version == 0 || version > UINT32_MAX) {
    return make_error(ErrorCode::kInvalidArgument, "EDEK has an invalid KEK version");
  }
  view.kek_version = static_cast<uint32_t>(version);
  view.wrapped = bytes.subspan(1 + id_len + used);
  if (view.wrapped.empty()) {
    return make_error(ErrorCode::kOutOfRange, "EDEK has no wrapped key");
  }
  return view;
}

Result<Edek> parse_edek(std::span<const uint8_t> bytes) {
  auto view = parse_edek_view(bytes);
  if (!view.ok()) {
    return view.error();
  }
  return Edek{std::string(view->kek_id), view->kek_version,
              std::vector<uint8_t>(view->wrapped.begin(), view->wrapped.end())};
}

}  // namespace kenc::crypto
