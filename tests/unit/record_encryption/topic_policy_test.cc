#include "proxy/filters/record_encryption/topic_policy.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/config/config_error.h"

namespace kenc::record_encryption {
namespace {

TopicPolicy parse(const std::string& yaml) {
  return TopicPolicy::from_yaml(YAML::Load(yaml), "record_encryption");
}

// The key the ConfigError names, or "" when the YAML is accepted.
std::string error_key(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const config::ConfigError& e) {
    return e.key();
  }
  return "";
}

TEST(TopicPolicy, FirstMatchingRuleDecides) {
  auto policy = parse(R"(
rules:
  - exact: orders
    kek: orders-kek
  - prefix: "pay-"
    kek: KEK_$(topicName)
  - regex: "audit\\.[a-z]+"
    kek: audit-$(topicName)-$(topicName)
  - prefix: ""
    plaintext: true
)");
  EXPECT_EQ(policy.rule_count(), 4u);

  auto orders = policy.decide("orders");
  EXPECT_EQ(orders->action, TopicAction::kEncrypt);
  EXPECT_EQ(orders->kek_alias, "orders-kek");
  EXPECT_EQ(orders->rule_index, 0);

  auto pay = policy.decide("pay-eu");
  EXPECT_EQ(pay->action, TopicAction::kEncrypt);
  EXPECT_EQ(pay->kek_alias, "KEK_pay-eu");

  auto audit = policy.decide("audit.login");
  EXPECT_EQ(audit->kek_alias, "audit-audit.login-audit.login");
  EXPECT_EQ(audit->rule_index, 2);

  // The regex must match the whole name, not a part of it.
  auto partial = policy.decide("audit.login2");
  EXPECT_EQ(partial->action, TopicAction::kPlaintext);
  EXPECT_EQ(partial->rule_index, 3);

  EXPECT_EQ(policy.decide("orders2")->action, TopicAction::kPlaintext);
}

TEST(TopicPolicy, FailsClosedByDefault) {
  auto policy = parse("rules:\n  - exact: a\n    kek: k\n");
  auto unmatched = policy.decide("b");
  EXPECT_EQ(unmatched->action, TopicAction::kReject);
  EXPECT_EQ(unmatched->rule_index, -1);
  EXPECT_EQ(policy.unmatched_topic(), FallbackPolicy::kReject);
  EXPECT_EQ(policy.unresolved_kek(), FallbackPolicy::kReject);
  EXPECT_EQ(parse("{}").decide("anything")->action, TopicAction::kReject);
}

TEST(TopicPolicy, PassthroughOnlyWhenChosen) {
  auto policy = parse("unmatched_topic: passthrough\nunresolved_kek: passthrough\n");
  EXPECT_EQ(policy.decide("x")->action, TopicAction::kPlaintext);
  EXPECT_EQ(policy.unresolved_kek(), FallbackPolicy::kPassthrough);
}

TEST(TopicPolicy, CachesDecisionsPerTopicWithABound) {
  auto policy = parse("topic_cache_size: 3\nrules:\n  - prefix: t\n    kek: k_$(topicName)\n");
  auto first = policy.decide("t1");
  EXPECT_EQ(policy.decide("t1"), first) << "the second lookup must come from the cache";
  policy.decide("t2");
  policy.decide("t3");
  EXPECT_EQ(policy.cached_decisions(), 3u);
  policy.decide("t4");  // full: starts again
  EXPECT_EQ(policy.cached_decisions(), 1u);
  EXPECT_EQ(policy.decide("t1")->kek_alias, "k_t1");
}

TEST(TopicPolicy, IsSafeFromManyThreads) {
  auto policy =
      parse("topic_cache_size: 50\nrules:\n  - regex: \"t[0-9]+\"\n    kek: $(topicName)\n");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        std::string topic = "t" + std::to_string(i % 120);
        if (policy.decide(topic)->kek_alias != topic) {
          ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(wrong.load(), 0);
}

TEST(TopicPolicy, ConfigErrorsNameTheKey) {
  EXPECT_EQ(error_key("- a"), "record_encryption");
  EXPECT_EQ(error_key("rulez: []"), "record_encryption.rulez");
  EXPECT_EQ(error_key("rules: {}"), "record_encryption.rules");
  EXPECT_EQ(error_key("rules:\n  - kek: k\n"), "record_encryption.rules[0]");
  EXPECT_EQ(error_key("rules:\n  - exact: a\n    prefix: b\n    kek: k\n"),
            "record_encryption.rules[0]");
  EXPECT_EQ(error_key("rules:\n  - exact: a\n    kek: k\n  - regex: \"(\"\n    kek: k\n"),
            "record_encryption.rules[1].regex");
  EXPECT_EQ(error_key("rules:\n  - exact: a\n"), "record_encryption.rules[0]");
  EXPECT_EQ(error_key("rules:\n  - exact: a\n    kek: k\n    plaintext: true\n"),
            "record_encryption.rules[0]");
  EXPECT_EQ(error_key("rules:\n  - exact: a\n    plaintext: false\n"),
            "record_encryption.rules[0].plaintext");
  EXPECT_EQ(error_key("rules:\n  - exact: a\n    kek: \"KEK_$(topic)\"\n"),
            "record_encryption.rules[0].kek");
  EXPECT_EQ(error_key("rules:\n  - exact: a\n    kek: \"\"\n"), "record_encryption.rules[0].kek");
  EXPECT_EQ(error_key("rules:\n  - exact: a\n    kek: k\n    colour: red\n"),
            "record_encryption.rules[0].colour");
  EXPECT_EQ(error_key("rules:\n  - exact: [a]\n    kek: k\n"), "record_encryption.rules[0].exact");
  EXPECT_EQ(error_key("unmatched_topic: allow"), "record_encryption.unmatched_topic");
  EXPECT_EQ(error_key("unresolved_kek: maybe"), "record_encryption.unresolved_kek");
  EXPECT_EQ(error_key("topic_cache_size: 0"), "record_encryption.topic_cache_size");
  EXPECT_EQ(error_key("topic_cache_size: lots"), "record_encryption.topic_cache_size");
  EXPECT_EQ(error_key("rules:\n  - exact: a\n    kek: k\n"), "");
}

}  // namespace
}  // namespace kenc::record_encryption
