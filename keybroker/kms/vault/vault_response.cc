#include "keybroker/kms/vault/vault_response.h"

#include <openssl/crypto.h>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "keybroker/kms/vault/base64.h"

namespace kenc::keybroker::kms::vault {
namespace {

using nlohmann::json;

Error malformed(std::string_view what) {
  return make_error(ErrorCode::kInternal, "malformed Vault response: " + std::string(what));
}

// Parses without exceptions; a discarded value means "not JSON".
json parse_or_discard(std::string_view body) {
  return json::parse(body.begin(), body.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
}

// Wipes a string that held secret material (a base64 DEK) before it is freed.
void wipe(std::string& s) {
  if (!s.empty()) {
    OPENSSL_cleanse(s.data(), s.size());
  }
}

const json* object_field(const json& parent, const char* name) {
  if (!parent.is_object()) {
    return nullptr;
  }
  auto it = parent.find(name);
  if (it == parent.end()) {
    return nullptr;
  }
  return &*it;
}

// Vault prints versions as JSON numbers; accept 1..UINT32_MAX.
bool read_version(const json* field, uint32_t* out) {
  if (field == nullptr || !field->is_number_integer()) {
    return false;
  }
  if (field->is_number_unsigned()) {
    const auto v = field->get<uint64_t>();
    if (v == 0 || v > std::numeric_limits<uint32_t>::max()) {
      return false;
    }
    *out = static_cast<uint32_t>(v);
    return true;
  }
  const auto v = field->get<int64_t>();
  if (v <= 0 || v > std::numeric_limits<uint32_t>::max()) {
    return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

Result<crypto::SecureBytes> decode_secret_field(json& data, const char* name) {
  auto it = data.find(name);
  if (it == data.end() || !it->is_string()) {
    return malformed(std::string("data.") + name);
  }
  auto& text = it->get_ref<std::string&>();
  auto decoded = base64_decode(text);
  wipe(text);
  if (!decoded.ok()) {
    return malformed(std::string("data.") + name + " is not base64");
  }
  return std::move(decoded).value();
}

}  // namespace

std::vector<std::string> parse_error_messages(std::string_view body) {
  std::vector<std::string> out;
  const json doc = parse_or_discard(body);
  const json* errors = object_field(doc, "errors");
  if (errors == nullptr || !errors->is_array()) {
    return out;
  }
  for (const auto& e : *errors) {
    if (e.is_string()) {
      out.push_back(e.get<std::string>());
    }
  }
  return out;
}

Result<KeyMetadata> parse_key_metadata(std::string_view body) {
  const json doc = parse_or_discard(body);
  const json* data = object_field(doc, "data");
  if (data == nullptr || !data->is_object()) {
    return malformed("no data object");
  }
  KeyMetadata meta;
  if (!read_version(object_field(*data, "latest_version"), &meta.latest_version)) {
    return malformed("data.latest_version");
  }
  const json* min_dec = object_field(*data, "min_decryption_version");
  if (min_dec != nullptr && !read_version(min_dec, &meta.min_decryption_version)) {
    return malformed("data.min_decryption_version");
  }
  const json* type = object_field(*data, "type");
  if (type != nullptr && type->is_string()) {
    meta.type = type->get<std::string>();
  }
  return meta;
}

Result<DataKey> parse_datakey(std::string_view body) {
  json doc = parse_or_discard(body);
  if (!doc.is_object()) {
    return malformed("not a JSON object");
  }
  auto data_it = doc.find("data");
  if (data_it == doc.end() || !data_it->is_object()) {
    return malformed("no data object");
  }
  json& data = *data_it;
  DataKey key;
  auto plaintext = decode_secret_field(data, "plaintext");
  if (!plaintext.ok()) {
    return plaintext.error();
  }
  key.plaintext = std::move(plaintext).value();
  const json* ciphertext = object_field(data, "ciphertext");
  if (ciphertext == nullptr || !ciphertext->is_string()) {
    return malformed("data.ciphertext");
  }
  key.ciphertext = ciphertext->get<std::string>();
  if (!read_version(object_field(data, "key_version"), &key.key_version)) {
    // Older servers omit key_version; the ciphertext prefix always carries it.
    auto parsed = parse_vault_ciphertext(key.ciphertext);
    if (!parsed.ok()) {
      return malformed("data.key_version");
    }
    key.key_version = parsed->version;
  }
  return key;
}

Result<crypto::SecureBytes> parse_decrypt(std::string_view body) {
  json doc = parse_or_discard(body);
  if (!doc.is_object()) {
    return malformed("not a JSON object");
  }
  auto data_it = doc.find("data");
  if (data_it == doc.end() || !data_it->is_object()) {
    return malformed("no data object");
  }
  return decode_secret_field(*data_it, "plaintext");
}

Result<AuthLease> parse_auth(std::string_view body) {
  const json doc = parse_or_discard(body);
  const json* auth = object_field(doc, "auth");
  if (auth == nullptr || !auth->is_object()) {
    return malformed("no auth object");
  }
  AuthLease lease;
  const json* token = object_field(*auth, "client_token");
  if (token == nullptr || !token->is_string() || token->get_ref<const std::string&>().empty()) {
    return malformed("auth.client_token");
  }
  lease.client_token = token->get<std::string>();
  const json* duration = object_field(*auth, "lease_duration");
  if (duration == nullptr || !duration->is_number_integer() || duration->get<int64_t>() < 0) {
    return malformed("auth.lease_duration");
  }
  lease.lease_duration_s = duration->get<int64_t>();
  const json* renewable = object_field(*auth, "renewable");
  lease.renewable = renewable != nullptr && renewable->is_boolean() && renewable->get<bool>();
  return lease;
}

Result<VaultCiphertext> parse_vault_ciphertext(std::string_view text) {
  constexpr std::string_view kPrefix = "vault:v";
  if (!text.starts_with(kPrefix)) {
    return malformed("ciphertext has no vault:v prefix");
  }
  text.remove_prefix(kPrefix.size());
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return malformed("ciphertext version");
  }
  uint32_t version = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + colon, version);
  if (ec != std::errc() || end != text.data() + colon || version == 0) {
    return malformed("ciphertext version");
  }
  auto bytes = base64_decode(text.substr(colon + 1));
  if (!bytes.ok() || bytes->empty()) {
    return malformed("ciphertext body is not base64");
  }
  const auto view = bytes->view();
  return VaultCiphertext{version, std::vector<uint8_t>(view.begin(), view.end())};
}

std::string format_vault_ciphertext(uint32_t version, std::span<const uint8_t> bytes) {
  return "vault:v" + std::to_string(version) + ":" + base64_encode(bytes);
}

}  // namespace kenc::keybroker::kms::vault
