// libFuzzer target for the cipher record parser: arbitrary bytes must give an error value or
// a view whose spans lie inside the input, never a crash or an out-of-bounds read (run it
// under AddressSanitizer). A parsed record must then fail authentication under a fixed key,
// and the input used as a plaintext must round-trip through the writer and the parser.
//
// Input: byte 0 is the `kenc` header value; the rest is the record value.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "common/crypto/cipher_record.h"

namespace {

using namespace kenc::crypto;

const std::vector<uint8_t>& fuzz_key() {
  static const std::vector<uint8_t> key(32, 0x5C);
  return key;
}

bool inside(std::span<const uint8_t> part, std::span<const uint8_t> whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::span<const uint8_t> input(data, size);
  std::span<const uint8_t> header = input.first(1);
  std::span<const uint8_t> value = input.subspan(1);

  static AesGcmDecryptor decryptor = AesGcmDecryptor::create(fuzz_key()).value();
  static AesGcmEncryptor encryptor = AesGcmEncryptor::create(fuzz_key()).value();

  auto record = parse_cipher_record(header, value);
  if (record.ok()) {
    check(inside(record->edek, value) && inside(record->ciphertext, value) &&
          inside(record->tag, value) && inside(record->authenticated_prefix, value));
    check(record->tag.size() == kGcmTagBytes);
    check(record->authenticated_prefix.size() + record->ciphertext.size() + kGcmTagBytes ==
          value.size());
    std::vector<uint8_t> plaintext(record->plaintext_size());
    // Forging a GCM tag by chance is not something a fuzzer will do.
    check(!decrypt_cipher_record(decryptor, *record, plaintext).ok());
  }

  // Round trip: the value bytes as a plaintext under a fixed EDEK.
  static const std::vector<uint8_t> edek =
      serialize_edek(Edek{"fuzz-kek", 3, std::vector<uint8_t>(60, 0xEE)}).value();
  IvFields iv{static_cast<uint32_t>(size), size * 1000003ull};
  std::vector<uint8_t> out(cipher_record_value_size(edek.size(), iv, value.size()));
  auto written = write_cipher_record_value(encryptor, edek, iv, value, out);
  check(written.ok() && *written == out.size());
  const uint8_t v1[1] = {kCipherFormatV1};
  auto parsed = parse_cipher_record(v1, out);
  check(parsed.ok() && parsed->iv == iv);
  std::vector<uint8_t> back(parsed->plaintext_size());
  check(decrypt_cipher_record(decryptor, *parsed, back).ok());
  check(std::equal(back.begin(), back.end(), value.begin(), value.end()));
  return 0;
}
