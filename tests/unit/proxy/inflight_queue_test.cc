#include "proxy/net/inflight_queue.h"

#include <gtest/gtest.h>

namespace kenc::proxy {
namespace {

Frame frame_with(uint8_t marker) { return make_frame(std::vector<uint8_t>{marker}); }

TEST(InFlightQueue, ReleasesResponsesInRequestOrderWhateverTheCompletionOrder) {
  InFlightQueue q(8);
  const auto a = q.push_forwarded({1, 0, 100, {}});
  const auto b = q.push_forwarded({1, 0, 101, {}});
  const auto c = q.push_forwarded({1, 0, 102, {}});
  q.complete(c, frame_with(3));
  EXPECT_FALSE(q.head_ready());
  q.complete(b, frame_with(2));
  EXPECT_FALSE(q.head_ready());
  q.complete(a, frame_with(1));
  ASSERT_TRUE(q.head_ready());
  EXPECT_EQ(q.pop_head().payload()[0], 1);
  EXPECT_EQ(q.pop_head().payload()[0], 2);
  EXPECT_EQ(q.pop_head().payload()[0], 3);
  EXPECT_TRUE(q.empty());
}

TEST(InFlightQueue, MatchesBrokerResponsesToForwardedRequestsOnly) {
  InFlightQueue q(8);
  const auto a = q.push_forwarded({18, 0, 1, {}});
  const auto answered = q.push_answered({0, 3, 2, {}}, frame_with(9));
  const auto c = q.push_forwarded({3, 1, 3, {}});
  auto m = q.match_broker_response(1);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, a);
  // The locally answered request (correlation id 2) is skipped: the broker never saw it.
  m = q.match_broker_response(3);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, c);
  EXPECT_EQ(q.request(c).api_key, 3);
  EXPECT_FALSE(q.match_broker_response(4).ok()) << "nothing outstanding";
  q.complete(a, frame_with(1));
  q.complete(c, frame_with(3));
  EXPECT_EQ(q.pop_head().payload()[0], 1);
  EXPECT_EQ(q.pop_head().payload()[0], 9);
  EXPECT_EQ(q.pop_head().payload()[0], 3);
  (void)answered;
}

TEST(InFlightQueue, RejectsAResponseOutOfOrder) {
  InFlightQueue q(8);
  (void)q.push_forwarded({18, 0, 1, {}});
  (void)q.push_forwarded({18, 0, 2, {}});
  auto m = q.match_broker_response(2);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("does not match"), std::string::npos);
}

TEST(InFlightQueue, IsFullAtCapacity) {
  InFlightQueue q(2);
  (void)q.push_forwarded({18, 0, 1, {}});
  EXPECT_FALSE(q.full());
  (void)q.push_forwarded({18, 0, 2, {}});
  EXPECT_TRUE(q.full());
  q.complete(*q.match_broker_response(1), frame_with(1));
  (void)q.pop_head();
  EXPECT_FALSE(q.full());
}

TEST(InFlightQueue, CountsTheBytesOfResponsesHeldForTheClient) {
  InFlightQueue q(8);
  const auto a = q.push_forwarded({18, 0, 1, {}});
  (void)q.push_answered({0, 3, 2, {}}, make_frame(std::vector<uint8_t>(100)));
  const size_t answered = q.response_bytes();
  EXPECT_GE(answered, 100u);
  q.complete(*q.match_broker_response(1), make_frame(std::vector<uint8_t>(1000)));
  const size_t both = q.response_bytes();
  EXPECT_GE(both, answered + 1000u);
  // A filter replacing a response that was already stored is counted once, at its new size.
  q.complete(a, make_frame(std::vector<uint8_t>(10)));
  EXPECT_EQ(q.response_bytes(), both - 990u);
  (void)q.pop_head();
  EXPECT_EQ(q.response_bytes(), answered);
  (void)q.pop_head();
  EXPECT_EQ(q.response_bytes(), 0u);
}

}  // namespace
}  // namespace kenc::proxy

namespace kenc::proxy {
namespace {

TEST(InFlightQueue, KeepsTheProxysOwnRequestsInTheBrokerOrderWithoutAClientSlot) {
  InFlightQueue q(8);
  const auto a = q.push_forwarded({1, 13, 7, {}});
  q.push_own(-5);
  const auto b = q.push_forwarded({1, 13, 8, {}});
  EXPECT_TRUE(q.awaits_correlation_id(-5));
  EXPECT_TRUE(q.awaits_correlation_id(8));
  EXPECT_FALSE(q.awaits_correlation_id(9));
  EXPECT_EQ(q.size(), 2u) << "the proxy's own request owes the client nothing";

  EXPECT_FALSE(q.next_response_is_own());
  ASSERT_TRUE(q.match_broker_response(7).ok());
  ASSERT_TRUE(q.next_response_is_own());
  EXPECT_FALSE(q.match_broker_response(-5).ok()) << "an own response is not the client's";
  EXPECT_FALSE(q.match_own_response(8).ok()) << "wrong correlation id";
  ASSERT_TRUE(q.match_own_response(-5).ok());
  EXPECT_FALSE(q.next_response_is_own());
  auto m = q.match_broker_response(8);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, b);
  q.complete(b, frame_with(2));
  q.complete(a, frame_with(1));
  EXPECT_EQ(q.pop_head().payload()[0], 1);
  EXPECT_EQ(q.pop_head().payload()[0], 2);
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace kenc::proxy
