#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/crypto/secure_bytes.h"

namespace kenc::keybroker::kms::vault {

// Parsers for the JSON bodies Vault / OpenBao Transit answers with. They take untrusted bytes
// (this file is fuzzed): anything malformed, missing or of the wrong type is an Error with
// code kInternal naming the field, never a crash. None of them puts secret values in messages.

// `{"errors":["...", ...]}` -> the messages; empty when the body has none or is not JSON.
std::vector<std::string> parse_error_messages(std::string_view body);

// GET transit/keys/:name
struct KeyMetadata {
  uint32_t latest_version = 0;
  uint32_t min_decryption_version = 0;
  std::string type;
};
Result<KeyMetadata> parse_key_metadata(std::string_view body);

// POST transit/datakey/plaintext/:name
struct DataKey {
  crypto::SecureBytes plaintext;  // the DEK, decoded from base64
  std::string ciphertext;         // "vault:vN:<base64>"
  uint32_t key_version = 0;
};
Result<DataKey> parse_datakey(std::string_view body);

// POST transit/decrypt/:name -> the decoded plaintext.
Result<crypto::SecureBytes> parse_decrypt(std::string_view body);

// POST auth/approle/login and auth/token/renew-self.
struct AuthLease {
  std::string client_token;
  int64_t lease_duration_s = 0;  // 0 means the token does not expire (root-like)
  bool renewable = false;
};
Result<AuthLease> parse_auth(std::string_view body);

// "vault:v<version>:<base64>" <-> (version, decoded bytes). The EDEK stores the decoded bytes.
struct VaultCiphertext {
  uint32_t version = 0;
  std::vector<uint8_t> bytes;
};
Result<VaultCiphertext> parse_vault_ciphertext(std::string_view text);
std::string format_vault_ciphertext(uint32_t version, std::span<const uint8_t> bytes);

}  // namespace kenc::keybroker::kms::vault
