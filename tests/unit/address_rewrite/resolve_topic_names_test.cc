#include "proxy/filters/address_rewrite/resolve_topic_names.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <map>
#include <optional>

#include "common/kafka/protocol/generated/metadata_request.h"
#include "common/kafka/protocol/generated/metadata_response.h"
#include "common/kafka/protocol/headers.h"

namespace kenc::proxy::address_rewrite {
namespace {

kafka::Uuid uuid(uint8_t n) {
  kafka::Uuid id{};
  id[15] = n;
  return id;
}

// A broker stand-in: decodes the Metadata request it is sent and answers the ids it knows
// (UNKNOWN_TOPIC_ID, 100, for the others), as a real broker does.
class FakeUpstream final : public UpstreamChannel {
 public:
  std::map<kafka::Uuid, std::string> topics;
  std::vector<kafka::MetadataRequest> requests;
  std::optional<Error> fail;

  asio::awaitable<Result<Frame>> send(Frame request) override {
    if (fail) co_return *fail;
    auto payload = request.payload();
    kafka::Reader r(SharedBytes(std::vector<uint8_t>(payload.begin(), payload.end())));
    kafka::RequestHeader header;
    EXPECT_TRUE(header.decode(r, 2).ok());
    EXPECT_EQ(header.api_key, kafka::MetadataRequest::kApiKey);
    EXPECT_EQ(header.api_version, kMetadataByIdVersion);
    kafka::MetadataRequest body;
    EXPECT_TRUE(body.decode(r, header.api_version).ok());
    requests.push_back(body);

    kafka::MetadataResponse response;
    for (const auto& t : *body.topics) {
      kafka::MetadataResponse::MetadataResponseTopic out;
      out.topic_id = t.topic_id;
      auto it = topics.find(t.topic_id);
      if (it == topics.end()) {
        out.error_code = 100;  // UNKNOWN_TOPIC_ID
        out.name = std::nullopt;
      } else {
        out.name = it->second;
      }
      response.topics.push_back(out);
    }
    kafka::Writer w;
    kafka::ResponseHeader rh;
    rh.correlation_id = header.correlation_id;
    EXPECT_TRUE(rh.encode(w, 1).ok());
    EXPECT_TRUE(response.encode(w, header.api_version).ok());
    co_return make_frame(w.bytes());
  }
};

Status run(const RequestContext& context, TopicIdMap& map, std::vector<kafka::Uuid> ids) {
  asio::io_context io;
  std::optional<Status> out;
  asio::co_spawn(io, resolve_topic_names(context, map, std::move(ids)),
                 [&out](std::exception_ptr e, Status s) {
                   if (e) std::rethrow_exception(e);
                   out = std::move(s);
                 });
  io.run();
  return out.value();
}

TEST(ResolveTopicNames, AsksOnceForTheUnknownIdsOnlyAndLearnsTheAnswers) {
  FakeUpstream upstream;
  upstream.topics = {{uuid(1), "orders"}, {uuid(2), "payments"}, {uuid(3), "known"}};
  TopicIdMap map;
  map.learn(uuid(3), "known");
  RequestContext context;
  context.upstream = &upstream;

  Status s = run(context, map, {uuid(1), uuid(2), uuid(1), uuid(3), uuid(9)});
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  ASSERT_EQ(upstream.requests.size(), 1u);
  const auto& asked = *upstream.requests[0].topics;
  ASSERT_EQ(asked.size(), 3u) << "duplicates and known ids are not asked for";
  for (const auto& t : asked) {
    EXPECT_FALSE(t.name.has_value()) << "topics are named by id alone";
  }
  EXPECT_FALSE(upstream.requests[0].allow_auto_topic_creation);
  EXPECT_EQ(map.name(uuid(1)), "orders");
  EXPECT_EQ(map.name(uuid(2)), "payments");
  EXPECT_EQ(map.name(uuid(9)), std::nullopt) << "an id the broker does not know stays unknown";
}

TEST(ResolveTopicNames, SendsNothingWhenEveryIdIsKnown) {
  FakeUpstream upstream;
  TopicIdMap map;
  map.learn(uuid(1), "orders");
  RequestContext context;
  context.upstream = &upstream;
  ASSERT_TRUE(run(context, map, {uuid(1)}).ok());
  EXPECT_TRUE(upstream.requests.empty());
}

TEST(ResolveTopicNames, ReportsAClosedConnectionOrAMissingChannel) {
  FakeUpstream upstream;
  upstream.fail = Error{ErrorCode::kUnavailable, "connection closed"};
  TopicIdMap map;
  RequestContext context;
  context.upstream = &upstream;
  Status s = run(context, map, {uuid(1)});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);

  RequestContext no_channel;
  s = run(no_channel, map, {uuid(1)});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(map.size(), 0u);
}

}  // namespace
}  // namespace kenc::proxy::address_rewrite
