#include "keybroker/kms/vault/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kenc::keybroker::kms::vault {
namespace {

std::string decode_to_string(std::string_view text) {
  auto r = base64_decode(text);
  EXPECT_TRUE(r.ok()) << text;
  if (!r.ok()) {
    return {};
  }
  return std::string(r->view().begin(), r->view().end());
}

TEST(Base64, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    const std::vector<uint8_t> bytes(plain.begin(), plain.end());
    EXPECT_EQ(base64_encode(bytes), encoded);
    EXPECT_EQ(decode_to_string(encoded), plain);
  }
}

TEST(Base64, AllByteValuesRoundTrip) {
  std::vector<uint8_t> bytes(256);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(i);
  }
  auto decoded = base64_decode(base64_encode(bytes));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::vector<uint8_t>(decoded->view().begin(), decoded->view().end()), bytes);
}

TEST(Base64, RejectsMalformedInput) {
  for (std::string_view bad :
       {"Zg=", "Zg", "Z===", "====", "Zm9v!A==", "Zg==Zg==", "Zm=v", "Zm9v\n"}) {
    auto r = base64_decode(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace kenc::keybroker::kms::vault
