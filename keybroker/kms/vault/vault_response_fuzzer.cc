// libFuzzer target: every Vault response parser on arbitrary bytes. Built with -DKENC_FUZZ=ON
// (clang). Run: build/keybroker/kms/vault/vault_response_fuzzer -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "keybroker/kms/vault/vault_error.h"
#include "keybroker/kms/vault/vault_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kenc::keybroker::kms::vault;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)parse_error_messages(body);
  (void)parse_key_metadata(body);
  (void)parse_datakey(body);
  (void)parse_decrypt(body);
  (void)parse_auth(body);
  auto ciphertext = parse_vault_ciphertext(body);
  if (ciphertext.ok()) {
    // Whatever parses must format back to a string that parses to the same value.
    auto again =
        parse_vault_ciphertext(format_vault_ciphertext(ciphertext->version, ciphertext->bytes));
    if (!again.ok() || again->version != ciphertext->version || again->bytes != ciphertext->bytes) {
      __builtin_trap();
    }
  }
  (void)error_from_http(VaultOperation::kDecrypt, 400, body);
  return 0;
}
