#include "common/base/result.h"

#include <gtest/gtest.h>

#include <memory>

#include "common/base/shared_bytes.h"

namespace kenc {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return make_error(ErrorCode::kInvalidArgument, "odd");
  return x / 2;
}

TEST(Result, CarriesValueOrError) {
  auto a = half(4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 2);
  auto b = half(3);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(b.error().to_string(), "INVALID_ARGUMENT: odd");
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(Status, OkOrError) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  Status bad = make_error(ErrorCode::kUnavailable, "down");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kUnavailable);
}

TEST(SharedBytes, SliceSharesTheOwner) {
  SharedBytes all(std::vector<uint8_t>{1, 2, 3, 4, 5});
  SharedBytes mid = all.slice(1, 3);
  ASSERT_EQ(mid.size(), 3u);
  EXPECT_EQ(mid.view()[0], 2);
  EXPECT_EQ(mid.data(), all.data() + 1);  // no copy
}

}  // namespace
}  // namespace kenc
