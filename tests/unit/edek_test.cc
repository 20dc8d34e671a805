#include "common/crypto/edek.h"

#include <gtest/gtest.h>

namespace kenc::crypto {
namespace {

TEST(Edek, RoundTrips) {
  Edek edek{"orders-kek", 300, std::vector<uint8_t>(60, 0x5A)};
  auto bytes = serialize_edek(edek);
  ASSERT_TRUE(bytes.ok());
  // 1 (id length) + 10 (id) + 2 (varint 300) + 60 (wrapped)
  EXPECT_EQ(bytes->size(), 73u);
  auto back = parse_edek(*bytes);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, edek);
}

TEST(Edek, RejectsInvalidFields) {
  EXPECT_FALSE(serialize_edek(Edek{"", 1, {1}}).ok());
  EXPECT_FALSE(serialize_edek(Edek{std::string(256, 'k'), 1, {1}}).ok());
  EXPECT_FALSE(serialize_edek(Edek{"k", 0, {1}}).ok());
  EXPECT_FALSE(serialize_edek(Edek{"k", 1, {}}).ok());
}

TEST(Edek, RejectsMalformedBytes) {
  EXPECT_FALSE(parse_edek(std::vector<uint8_t>{}).ok());
  EXPECT_FALSE(parse_edek(std::vector<uint8_t>{0}).ok());
  EXPECT_FALSE(parse_edek(std::vector<uint8_t>{5, 'a', 'b'}).ok());         // id truncated
  EXPECT_FALSE(parse_edek(std::vector<uint8_t>{1, 'a', 0x80}).ok());        // version truncated
  EXPECT_FALSE(parse_edek(std::vector<uint8_t>{1, 'a', 0x00, 0x01}).ok());  // version 0
  EXPECT_FALSE(parse_edek(std::vector<uint8_t>{1, 'a', 0x01}).ok());        // nothing wrapped
}

}  // namespace
}  // namespace kenc::crypto
