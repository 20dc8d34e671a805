#include "common/kafka/protocol/api_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/kafka/protocol/dispatch.h"

namespace kenc::kafka {
namespace {

TEST(ApiTableTest, KnowsTheApisTheProxyRewritesOrFilters) {
  struct Expected {
    int16_t key;
    const char* name;
    int16_t highest_at_least;
  };
  for (const Expected& e : {Expected{0, "Produce", 12}, Expected{1, "Fetch", 17},
                            Expected{3, "Metadata", 12}, Expected{10, "FindCoordinator", 6},
                            Expected{18, "ApiVersions", 4}, Expected{60, "DescribeCluster", 1},
                            Expected{78, "ShareFetch", 1}, Expected{79, "ShareAcknowledge", 1}}) {
    const ApiInfo* api = find_api(e.key);
    ASSERT_NE(api, nullptr) << e.name;
    EXPECT_STREQ(api->name, e.name);
    EXPECT_GE(api->highest_version, e.highest_at_least) << e.name;
    EXPECT_TRUE(api->broker_listener) << e.name;
  }
  EXPECT_EQ(find_api(0)->lowest_version, 3);  // Kafka 4 dropped Produce v0-2
  EXPECT_EQ(find_api(0)->first_flexible_version, 9);
  EXPECT_EQ(find_api(18)->first_flexible_version, 3);
  EXPECT_EQ(find_api(7), nullptr);  // ControlledShutdown has no valid version any more
  EXPECT_EQ(find_api(-1), nullptr);
  EXPECT_EQ(find_api(30000), nullptr);
}

TEST(ApiTableTest, ControllerOnlyApisAreMarked) {
  const ApiInfo* vote = find_api(52);  // Vote
  ASSERT_NE(vote, nullptr);
  EXPECT_TRUE(vote->controller_listener);
  EXPECT_FALSE(vote->broker_listener);
}

TEST(ApiTableTest, EveryApiHasARequestAndAResponseType) {
  std::set<int16_t> keys;
  for (const ApiInfo& api : all_apis()) {
    EXPECT_TRUE(keys.insert(api.api_key).second) << "duplicate key " << api.api_key;
    EXPECT_LE(api.lowest_version, api.highest_version) << api.name;
    for (MessageKind kind : {MessageKind::kRequest, MessageKind::kResponse}) {
      std::unique_ptr<Message> m = create_message(api.api_key, kind);
      ASSERT_NE(m, nullptr) << api.name;
      const MessageDescriptor& d = m->descriptor();
      EXPECT_EQ(d.api_key, api.api_key);
      EXPECT_EQ(d.kind, kind);
      EXPECT_EQ(std::string(d.name),
                std::string(api.name) + (kind == MessageKind::kRequest ? "Request" : "Response"));
      EXPECT_EQ(d.lowest_version, api.lowest_version);
      EXPECT_EQ(d.highest_version, api.highest_version);
      EXPECT_EQ(d.first_flexible_version, api.first_flexible_version);
    }
  }
  EXPECT_EQ(create_message(7, MessageKind::kRequest), nullptr);
}

}  // namespace
}  // namespace kenc::kafka
