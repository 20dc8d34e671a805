#include "proxy/filters/record_encryption/fetch_read_ahead.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <thread>

#include "common/kafka/records/batch_builder.h"

namespace kenc::record_encryption {
namespace {

using kafka::FetchRequest;
using kafka::FetchResponse;
using kafka::records::BatchBuilder;
using kafka::records::BatchHeader;
using kafka::records::NullableBytes;

constexpr int16_t kVersion = 12;  // topics by name; last_fetched_epoch exists

// `count` records of `value_bytes` each in one batch starting at `base_offset`.
std::vector<uint8_t> batch(int64_t base_offset, int count, size_t value_bytes = 100,
                           int32_t leader_epoch = 5) {
  BatchHeader h;
  h.base_offset = base_offset;
  h.partition_leader_epoch = leader_epoch;
  BatchBuilder builder(h);
  const std::string value(value_bytes, 'v');
  for (int i = 0; i < count; ++i) {
    builder.add(0, i, NullableBytes::null(), NullableBytes::of(value));
  }
  std::vector<uint8_t> out;
  EXPECT_TRUE(builder.finish(out).ok());
  return out;
}

FetchRequest request_for(const std::vector<std::pair<int32_t, int64_t>>& partitions,
                         int32_t partition_max_bytes = 4096) {
  FetchRequest r;
  r.max_wait_ms = 500;
  r.min_bytes = 1;
  r.max_bytes = 1 << 20;
  r.session_id = 0;
  r.session_epoch = -1;
  FetchRequest::FetchTopic t;
  t.topic = "orders";
  for (const auto& [index, offset] : partitions) {
    FetchRequest::FetchPartition p;
    p.partition = index;
    p.fetch_offset = offset;
    p.current_leader_epoch = 5;
    p.partition_max_bytes = partition_max_bytes;
    t.partitions.push_back(p);
  }
  r.topics.push_back(t);
  return r;
}

FetchResponse response_with(const std::vector<std::pair<int32_t, std::vector<uint8_t>>>& parts) {
  FetchResponse r;
  FetchResponse::FetchableTopicResponse t;
  t.topic = "orders";
  for (const auto& [index, records] : parts) {
    FetchResponse::PartitionData p;
    p.partition_index = index;
    p.high_watermark = 100000;
    p.records = SharedBytes(records);
    t.partitions.push_back(std::move(p));
  }
  r.responses.push_back(std::move(t));
  return r;
}

TEST(MakeSessionless, AFullRequestForANewSessionBecomesSessionless) {
  FetchRequest r = request_for({{0, 0}});
  r.session_epoch = 0;  // "create a session"
  EXPECT_TRUE(make_sessionless(r));
  EXPECT_TRUE(is_sessionless(r));
  EXPECT_EQ(r.session_epoch, -1);
  EXPECT_FALSE(make_sessionless(r));  // already sessionless: unchanged
}

TEST(MakeSessionless, SessionsInUseAndManyPartitionsAreLeftAlone) {
  FetchRequest incremental = request_for({{0, 0}});
  incremental.session_id = 77;
  incremental.session_epoch = 3;
  EXPECT_FALSE(make_sessionless(incremental));
  EXPECT_FALSE(is_sessionless(incremental));

  std::vector<std::pair<int32_t, int64_t>> many;
  for (int32_t i = 0; i <= static_cast<int32_t>(kMaxSessionlessPartitions); ++i) {
    many.emplace_back(i, 0);
  }
  FetchRequest big = request_for(many);
  big.session_epoch = 0;
  EXPECT_FALSE(make_sessionless(big));
  EXPECT_EQ(big.session_epoch, 0);
}

TEST(SameFetch, OnlyTheWaitMayDiffer) {
  FetchRequest a = request_for({{0, 10}, {1, 20}});
  FetchRequest b = a;
  b.max_wait_ms = 0;
  EXPECT_TRUE(same_fetch(a, b));
  b.topics[0].partitions[1].fetch_offset = 21;
  EXPECT_FALSE(same_fetch(a, b));
  b = a;
  b.isolation_level = 1;
  EXPECT_FALSE(same_fetch(a, b));
  b = a;
  b.topics[0].partitions[0].partition_max_bytes = 1;
  EXPECT_FALSE(same_fetch(a, b));
}

TEST(SameFetch, PartitionsMayComeInAnyOrder) {
  // librdkafka rotates its partitions from one request to the next.
  FetchRequest a = request_for({{0, 10}, {1, 20}, {2, 30}});
  FetchRequest b = request_for({{1, 20}, {2, 30}, {0, 10}});
  EXPECT_TRUE(same_fetch(a, b));
  FetchRequest fewer = request_for({{1, 20}, {2, 30}});
  EXPECT_FALSE(same_fetch(a, fewer));
  EXPECT_FALSE(same_fetch(fewer, a));

  order_like(a, b);
  ASSERT_EQ(a.topics[0].partitions.size(), 3u);
  EXPECT_EQ(a.topics[0].partitions[0].partition, 1);
  EXPECT_EQ(a.topics[0].partitions[1].partition, 2);
  EXPECT_EQ(a.topics[0].partitions[2].partition, 0);
  EXPECT_EQ(a.topics[0].partitions[0].fetch_offset, 20);
}

TEST(FollowUp, TheNextRequestStartsAfterTheLastWholeBatch) {
  const FetchRequest request = request_for({{0, 100}, {1, 7}, {2, 50}});
  // Partition 0: two batches (100-129, 130-139), then half of a third (cut by the limit).
  std::vector<uint8_t> p0 = batch(100, 30);
  auto second = batch(130, 10);
  p0.insert(p0.end(), second.begin(), second.end());
  auto third = batch(140, 10);
  p0.insert(p0.end(), third.begin(), third.begin() + static_cast<long>(third.size() / 2));
  const FetchResponse response =
      response_with({{0, p0}, {1, batch(7, 3)}, {2, {}}});  // partition 2: nothing new

  FetchFollowUp follow = follow_up(request, response, kVersion);
  EXPECT_TRUE(follow.servable);
  ASSERT_TRUE(follow.next.has_value());
  const auto& next = follow.next->topics.at(0).partitions;
  EXPECT_EQ(next.at(0).fetch_offset, 140);
  EXPECT_EQ(next.at(1).fetch_offset, 10);
  EXPECT_EQ(next.at(2).fetch_offset, 50);
  // Consumers leave last_fetched_epoch unset, and so does the prediction.
  EXPECT_EQ(next.at(0).last_fetched_epoch, -1);
  // Everything else as the consumer sent it.
  FetchRequest expected = request;
  expected.topics[0].partitions[0].fetch_offset = 140;
  expected.topics[0].partitions[1].fetch_offset = 10;
  EXPECT_TRUE(same_fetch(*follow.next, expected));
}

TEST(FollowUp, AConsumerThatSendsItsLastFetchedEpochGetsItPredicted) {
  FetchRequest request = request_for({{0, 0}}, 1024);
  request.topics[0].partitions[0].last_fetched_epoch = 4;
  FetchFollowUp follow = follow_up(request, response_with({{0, batch(0, 20, 100, 6)}}), kVersion);
  ASSERT_TRUE(follow.next.has_value());
  EXPECT_EQ(follow.next->topics[0].partitions[0].last_fetched_epoch, 6);
}

TEST(FollowUp, NoReadAheadAfterASmallResponse) {
  // 3 records of 100 bytes against a 4 KiB partition limit and a 1 MiB response limit: the
  // consumer has caught up, and the broker would have nothing more now.
  FetchFollowUp follow =
      follow_up(request_for({{0, 0}}), response_with({{0, batch(0, 3)}}), kVersion);
  EXPECT_TRUE(follow.servable);
  EXPECT_FALSE(follow.next.has_value());
}

TEST(FollowUp, ErrorsRedirectionsAndThrottlingStopReadAhead) {
  const FetchRequest request = request_for({{0, 0}, {1, 0}});
  const auto full = batch(0, 40);  // more than half of 4 KiB
  {
    FetchResponse r = response_with({{0, full}, {1, {}}});
    r.responses[0].partitions[1].error_code = 6;  // NOT_LEADER_OR_FOLLOWER
    FetchFollowUp f = follow_up(request, r, kVersion);
    EXPECT_FALSE(f.servable);
    EXPECT_FALSE(f.next.has_value());
  }
  {
    FetchResponse r = response_with({{0, full}, {1, {}}});
    r.responses[0].partitions[0].preferred_read_replica = 2;
    EXPECT_FALSE(follow_up(request, r, kVersion).servable);
  }
  {
    FetchResponse r = response_with({{0, full}, {1, {}}});
    r.responses[0].partitions[1].diverging_epoch.end_offset = 5;
    EXPECT_FALSE(follow_up(request, r, kVersion).servable);
  }
  {
    FetchResponse r = response_with({{0, full}});  // partition 1 missing from the answer
    EXPECT_FALSE(follow_up(request, r, kVersion).servable);
  }
  {
    FetchResponse r = response_with({{0, full}, {1, {}}});
    r.throttle_time_ms = 100;
    FetchFollowUp f = follow_up(request, r, kVersion);
    EXPECT_TRUE(f.servable);
    EXPECT_FALSE(f.next.has_value());
  }
  {
    FetchResponse r = response_with({{0, {}}, {1, {}}});
    EXPECT_FALSE(follow_up(request, r, kVersion).servable);
  }
  {
    // Fewer bytes than the consumer's min_bytes: the broker would have waited for more.
    FetchRequest patient = request;
    patient.min_bytes = 64 * 1024;
    EXPECT_FALSE(follow_up(patient, response_with({{0, full}, {1, {}}}), kVersion).servable);
  }
}

TEST(FollowUp, ARecordLargerThanTheLimitStopsReadAhead) {
  // Only part of one batch came back: the consumer's next offset is not known from it.
  auto big = batch(0, 1, 8000);
  big.resize(4096);
  FetchFollowUp f = follow_up(request_for({{0, 0}}), response_with({{0, big}}), kVersion);
  EXPECT_TRUE(f.servable);
  EXPECT_FALSE(f.next.has_value());
}

TEST(ReadAheadBudget, ReservesUpToItsLimit) {
  ReadAheadBudget budget(1000);
  EXPECT_TRUE(budget.try_reserve(600));
  EXPECT_FALSE(budget.try_reserve(401));
  EXPECT_TRUE(budget.try_reserve(400));
  budget.release(600);
  EXPECT_EQ(budget.in_use(), 400u);
  EXPECT_FALSE(budget.try_reserve(2000));
}

class FetchReadAheadTest : public ::testing::Test {
 protected:
  std::optional<FetchReadAhead::Hit> take(const FetchRequest& request, int16_t version = kVersion) {
    std::optional<FetchReadAhead::Hit> hit;
    bool done = false;
    asio::co_spawn(io, ahead.take(request, version), [&](std::exception_ptr e, auto h) {
      if (e) std::rethrow_exception(e);
      hit = std::move(h);
      done = true;
    });
    io.restart();
    io.run();
    EXPECT_TRUE(done);
    return hit;
  }

  static ByteBuffer bytes_of(uint8_t marker) {
    return ByteBuffer(std::vector<uint8_t>(16, marker));
  }
  static proxy::Frame frame_of(uint8_t marker) { return proxy::Frame{bytes_of(marker)}; }

  asio::io_context io;
  std::shared_ptr<ReadAheadBudget> budget = std::make_shared<ReadAheadBudget>(10000);
  FetchReadAhead ahead{io.get_executor(), budget};
};

TEST_F(FetchReadAheadTest, ThePredictedRequestGetsTheResponseReadAhead) {
  const FetchRequest predicted = request_for({{0, 40}});
  auto ticket = ahead.start(predicted, kVersion, 4000);
  ASSERT_TRUE(ticket.has_value());
  EXPECT_EQ(budget->in_use(), 4000u);
  EXPECT_FALSE(ahead.start(predicted, kVersion, 10).has_value());  // one at a time

  PredictedFetch after{{1, 2, 3}, request_for({{0, 80}})};
  ahead.finish(*ticket, frame_of(7), after);
  FetchRequest asked = predicted;
  asked.max_wait_ms = 100;  // the wait does not matter
  auto hit = take(asked);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->response.bytes, bytes_of(7));
  ASSERT_TRUE(hit->after.has_value());
  EXPECT_EQ(hit->after->request.topics[0].partitions[0].fetch_offset, 80);
  EXPECT_EQ(budget->in_use(), 0u);
  EXPECT_EQ(ahead.outcomes(ReadAheadOutcome::kUsed), 1u);
  EXPECT_FALSE(take(asked).has_value());  // used once
}

TEST_F(FetchReadAheadTest, ARequestWaitsForTheReadAheadInFlight) {
  const FetchRequest predicted = request_for({{0, 40}});
  auto ticket = ahead.start(predicted, kVersion, 100);
  ASSERT_TRUE(ticket.has_value());
  std::optional<FetchReadAhead::Hit> hit;
  bool done = false;
  asio::co_spawn(io, ahead.take(predicted, kVersion), [&](std::exception_ptr e, auto h) {
    if (e) std::rethrow_exception(e);
    hit = std::move(h);
    done = true;
  });
  io.restart();
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(done);  // the response has not come yet
  asio::post(io, [&] { ahead.finish(*ticket, frame_of(9), std::nullopt); });
  io.restart();
  io.run();
  ASSERT_TRUE(done);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->response.bytes, bytes_of(9));
}

TEST_F(FetchReadAheadTest, AnotherRequestDropsWhatWasReadAhead) {
  auto ticket = ahead.start(request_for({{0, 40}}), kVersion, 100);
  ASSERT_TRUE(ticket.has_value());
  // The consumer sought elsewhere before the read-ahead came back.
  EXPECT_FALSE(take(request_for({{0, 0}})).has_value());
  EXPECT_EQ(ahead.outcomes(ReadAheadOutcome::kMismatched), 1u);
  EXPECT_EQ(budget->in_use(), 100u);  // still in flight: its bytes come back when it finishes
  ahead.finish(*ticket, frame_of(1), std::nullopt);
  EXPECT_EQ(budget->in_use(), 0u);
  EXPECT_FALSE(take(request_for({{0, 40}})).has_value());  // nothing held
}

TEST_F(FetchReadAheadTest, ARequestOfAnotherVersionDropsWhatWasReadAhead) {
  // The response held is encoded at the version of the request it was read ahead for.
  auto ticket = ahead.start(request_for({{0, 40}}), kVersion, 100);
  ASSERT_TRUE(ticket.has_value());
  ahead.finish(*ticket, frame_of(1), std::nullopt);
  EXPECT_FALSE(take(request_for({{0, 40}}), static_cast<int16_t>(kVersion + 1)).has_value());
  EXPECT_EQ(ahead.outcomes(ReadAheadOutcome::kMismatched), 1u);
}

TEST_F(FetchReadAheadTest, AnUnservableResponseIsNotUsed) {
  auto ticket = ahead.start(request_for({{0, 40}}), kVersion, 100);
  ASSERT_TRUE(ticket.has_value());
  ahead.finish(*ticket, std::nullopt, std::nullopt);
  EXPECT_FALSE(take(request_for({{0, 40}})).has_value());
  EXPECT_EQ(ahead.outcomes(ReadAheadOutcome::kUnservable), 1u);
  EXPECT_EQ(budget->in_use(), 0u);
}

TEST_F(FetchReadAheadTest, AResponseHeldTooLongIsNotUsed) {
  auto ticket = ahead.start(request_for({{0, 40}}), kVersion, 100);
  ASSERT_TRUE(ticket.has_value());
  ahead.finish(*ticket, frame_of(1), std::nullopt);
  std::this_thread::sleep_for(FetchReadAhead::kMaxHoldTime + std::chrono::milliseconds(50));
  EXPECT_FALSE(take(request_for({{0, 40}})).has_value());
  EXPECT_EQ(ahead.outcomes(ReadAheadOutcome::kStale), 1u);
}

TEST_F(FetchReadAheadTest, TheBudgetBoundsWhatIsHeld) {
  EXPECT_FALSE(ahead.start(request_for({{0, 40}}), kVersion, 20000).has_value());
  EXPECT_EQ(budget->in_use(), 0u);
}

TEST_F(FetchReadAheadTest, UnusedReadAheadsBackOffToOccasionalProbes) {
  for (int i = 0; i < FetchReadAhead::kMaxUnusedInARow; ++i) {
    auto ticket = ahead.start(request_for({{0, 40}}), kVersion, 100);
    ASSERT_TRUE(ticket.has_value());
    ahead.finish(*ticket, frame_of(1), std::nullopt);
    EXPECT_FALSE(take(request_for({{0, i}})).has_value());
  }
  int started = 0;
  for (int i = 0; i < 2 * FetchReadAhead::kProbeInterval; ++i) {
    if (auto ticket = ahead.start(request_for({{0, 40}}), kVersion, 100)) {
      ++started;
      ahead.finish(*ticket, frame_of(1), std::nullopt);
      ASSERT_TRUE(take(request_for({{0, 40}})).has_value());  // this one is used...
      break;
    }
  }
  EXPECT_EQ(started, 1);
  // ...and read-ahead is back on for every response.
  for (int i = 0; i < 3; ++i) {
    auto ticket = ahead.start(request_for({{0, 40}}), kVersion, 100);
    ASSERT_TRUE(ticket.has_value());
    ahead.finish(*ticket, frame_of(1), std::nullopt);
    ASSERT_TRUE(take(request_for({{0, 40}})).has_value());
  }
}

}  // namespace
}  // namespace kenc::record_encryption
