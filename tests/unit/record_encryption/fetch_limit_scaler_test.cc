#include "proxy/filters/record_encryption/fetch_limit_scaler.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace kenc::record_encryption {
namespace {

TEST(FetchLimitScaler, AnUnseenTopicKeepsItsLimits) {
  FetchLimitScaler scaler({});
  EXPECT_DOUBLE_EQ(scaler.factor("orders"), 1.0);
  EXPECT_EQ(scaler.scale(1048576, scaler.factor("orders")), 1048576);
}

TEST(FetchLimitScaler, LearnsHowMuchBiggerTheBrokersBytesAreAndFollowsChanges) {
  FetchLimitScaler scaler({});
  scaler.observe("orders", 2'000'000, 1'000'000);
  EXPECT_DOUBLE_EQ(scaler.factor("orders"), 2.0);
  EXPECT_EQ(scaler.scale(1'000'000, scaler.factor("orders")), 2'000'000);
  // Bigger records (less overhead each): half way there after one response, then closer.
  scaler.observe("orders", 1'100'000, 1'000'000);
  EXPECT_DOUBLE_EQ(scaler.factor("orders"), 1.55);
  scaler.observe("orders", 1'100'000, 1'000'000);
  EXPECT_DOUBLE_EQ(scaler.factor("orders"), 1.325);
  // Other topics are apart.
  EXPECT_DOUBLE_EQ(scaler.factor("payments"), 1.0);
}

TEST(FetchLimitScaler, IgnoresTinyResponsesAndNeverShrinksALimit) {
  FetchLimitScaler scaler({});
  scaler.observe("orders", 900, 100);  // one small record says little
  EXPECT_DOUBLE_EQ(scaler.factor("orders"), 1.0);
  scaler.observe("orders", 10'000, 20'000);  // cannot happen, but must not shrink limits
  EXPECT_DOUBLE_EQ(scaler.factor("orders"), 1.0);
  EXPECT_EQ(scaler.scale(5000, 0.5), 5000);
}

TEST(FetchLimitScaler, FactorsAndScaledLimitsAreBounded) {
  FetchLimitScaler::Options options;
  options.max_factor = 3.0;
  options.max_scaled_bytes = 10'000'000;
  FetchLimitScaler scaler(options);
  scaler.observe("tiny-values", 10'000'000, 1'000'000);
  EXPECT_DOUBLE_EQ(scaler.factor("tiny-values"), 3.0);
  EXPECT_EQ(scaler.scale(1'000'000, 3.0), 3'000'000);
  EXPECT_EQ(scaler.scale(5'000'000, 3.0), 10'000'000);
  // A client's limit already above the bound is its own choice: left as it is.
  EXPECT_EQ(scaler.scale(50'000'000, 3.0), 50'000'000);
  EXPECT_EQ(scaler.scale(2147483647, 3.0), 2147483647);
}

TEST(FetchLimitScaler, AFactorOfOneTurnsItOff) {
  FetchLimitScaler::Options options;
  options.max_factor = 1.0;
  FetchLimitScaler scaler(options);
  EXPECT_FALSE(scaler.enabled());
  scaler.observe("orders", 2'000'000, 1'000'000);
  EXPECT_DOUBLE_EQ(scaler.factor("orders"), 1.0);
}

TEST(FetchLimitScaler, StartsOverWhenItsTopicTableIsFull) {
  FetchLimitScaler::Options options;
  options.max_topics = 2;
  FetchLimitScaler scaler(options);
  scaler.observe("a", 2'000'000, 1'000'000);
  scaler.observe("b", 2'000'000, 1'000'000);
  scaler.observe("c", 2'000'000, 1'000'000);
  EXPECT_DOUBLE_EQ(scaler.factor("a"), 1.0);
  EXPECT_DOUBLE_EQ(scaler.factor("c"), 2.0);
}

TEST(FetchLimitScaler, TopicIdsAndNamesNeverShareAKey) {
  std::array<uint8_t, 16> id{};
  id.fill('a');
  const std::string key = FetchLimitScaler::key_of_id(id.data());
  EXPECT_EQ(key.size(), 17u);
  EXPECT_NE(key, std::string(16, 'a'));
  FetchLimitScaler scaler({});
  scaler.observe(key, 2'000'000, 1'000'000);
  EXPECT_DOUBLE_EQ(scaler.factor(std::string(16, 'a')), 1.0);
  EXPECT_DOUBLE_EQ(scaler.factor(key), 2.0);
}

}  // namespace
}  // namespace kenc::record_encryption
