#include "common/kafka/frame.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace kenc::kafka {
namespace {

TEST(Frame, ParsesSize) {
  std::array<uint8_t, 4> prefix{0, 0, 1, 2};
  auto size = parse_frame_size(prefix, 1000);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 258);
}

TEST(Frame, RejectsNegativeSize) {
  std::array<uint8_t, 4> prefix{0xff, 0xff, 0xff, 0xfe};
  auto size = parse_frame_size(prefix, 1000);
  ASSERT_FALSE(size.ok());
  EXPECT_EQ(size.error().code, ErrorCode::kInvalidArgument);
}

TEST(Frame, RejectsOversizedFrame) {
  std::array<uint8_t, 4> prefix{0, 0, 0x10, 0};
  auto size = parse_frame_size(prefix, 4095);
  ASSERT_FALSE(size.ok());
  EXPECT_EQ(size.error().code, ErrorCode::kOutOfRange);
  EXPECT_NE(size.error().message.find("4096"), std::string::npos);
}

TEST(Frame, PeeksRequestHeader) {
  std::vector<uint8_t> payload{0, 3, 0, 12, 0, 0, 0x01, 0x02, 0xAA};
  auto header = peek_request_header(payload);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->api_key, 3);
  EXPECT_EQ(header->api_version, 12);
  EXPECT_EQ(header->correlation_id, 0x0102);
}

TEST(Frame, ShortRequestIsAnError) {
  std::vector<uint8_t> payload{0, 3, 0, 12, 0, 0, 1};
  EXPECT_FALSE(peek_request_header(payload).ok());
}

TEST(Frame, PeeksResponseCorrelationId) {
  std::vector<uint8_t> payload{0x7f, 0xff, 0xff, 0xff};
  auto id = peek_response_correlation_id(payload);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 0x7fffffff);
  EXPECT_FALSE(peek_response_correlation_id(std::vector<uint8_t>{1, 2}).ok());
}

}  // namespace
}  // namespace kenc::kafka
