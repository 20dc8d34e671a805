#include "keybroker/kms/vault/vault_error.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "keybroker/kms/vault/vault_response.h"

namespace kenc::keybroker::kms::vault {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool says_key_not_found(const std::string& messages) {
  const std::string m = lower(messages);
  return m.find("encryption key not found") != std::string::npos ||
         m.find("no existing key named") != std::string::npos ||
         m.find("key not found") != std::string::npos;
}

}  // namespace

bool is_retriable_http_status(long http_status) {
  return http_status == 429 || (http_status >= 500 && http_status <= 599);
}

Error error_from_http(VaultOperation op, long http_status, std::string_view body) {
  std::string messages;
  for (const auto& m : parse_error_messages(body)) {
    if (!messages.empty()) {
      messages += "; ";
    }
    messages += m;
  }
  std::string text = "Vault answered HTTP " + std::to_string(http_status);
  if (!messages.empty()) {
    text += ": " + messages;
  }

  // Only a missing key is kNotFound: under the proxy's `unresolved_kek: passthrough` policy it
  // lets records through in plaintext. Transit answers a read of a key that does not exist with
  // 404 and no message, and the other calls with 400 "encryption key not found". Any other 404
  // ("no handler for route": a wrong mount path, a Transit engine not enabled) is a broken
  // set-up, which must fail loudly rather than pass for "no such KEK".
  if ((http_status == 404 && (messages.empty() || says_key_not_found(messages))) ||
      (http_status == 400 && says_key_not_found(messages))) {
    return make_error(ErrorCode::kNotFound, text);
  }
  if (http_status == 404) {
    return make_error(ErrorCode::kInternal,
                      text +
                          " (no Transit route at this path: check the mount path and that the "
                          "Transit engine is enabled)");
  }
  if (http_status == 401 || http_status == 403) {
    return make_error(ErrorCode::kPermissionDenied, text);
  }
  if (is_retriable_http_status(http_status)) {
    if (http_status == 503) {
      text += " (sealed, standby or overloaded)";
    }
    return make_error(ErrorCode::kUnavailable, text);
  }
  if (http_status == 400 && op == VaultOperation::kDecrypt) {
    return make_error(ErrorCode::kDataLoss, text);
  }
  if (http_status >= 400 && http_status <= 499) {
    return make_error(ErrorCode::kInvalidArgument, text);
  }
  return make_error(ErrorCode::kInternal, text);
}

}  // namespace kenc::keybroker::kms::vault
