// The end-to-end fixture itself (tests/world/stack/): Kafka, the key broker and kenc-proxy
// daemons started together, clients through the proxy, and every component stopped, killed and
// restarted on its ports.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/world/base/admin_http.h"
#include "tests/world/base/peer_connections.h"
#include "tests/world/kafka/java_client.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/stack/encryption_stack.h"

namespace kenc::testworld {
namespace {

std::vector<TestRecord> make_records(int n, const std::string& tag) {
  std::vector<TestRecord> records;
  for (int i = 0; i < n; ++i) {
    TestRecord r;
    r.key = tag + "-key-" + std::to_string(i);
    r.value = tag + "-value-" + std::to_string(i);
    r.headers = {{"h", "header-" + std::to_string(i)}};
    records.push_back(r);
  }
  return records;
}

void expect_same_records(const std::vector<TestRecord>& sent, const std::vector<TestRecord>& got) {
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_TRUE(got[i].same_content(sent[i]))
        << "record " << i << ": " << got[i].value.value_or("null");
  }
}

// Pass-through: no `encryption:` block, no key broker. The fixture must work with the proxy
// alone, and survive SIGTERM, SIGKILL and restarts on the same ports.
TEST(EncryptionStackFixture, PassThroughProxyRestartsOnItsPorts) {
  EncryptionStack::Options options;
  options.label = "stack-passthrough";
  options.encryption = false;
  EncryptionStack stack(options);
  EXPECT_THROW(stack.keybroker(), std::logic_error);
  ASSERT_NE(stack.proxy_bootstrap(), stack.direct_bootstrap());

  const std::string topic = unique_topic("pt");
  stack.kafka().create_topic(topic, 1);
  auto sent = make_records(20, "a");
  JavaClient::produce(stack.proxy_bootstrap(), topic, sent, {{"acks", "all"}});
  expect_same_records(sent, JavaClient::consume(stack.proxy_bootstrap(), topic, sent.size()));
  expect_same_records(sent, JavaClient::consume(stack.direct_bootstrap(), topic, sent.size()));

  // The admin listener answers (metrics are how encryption tests see the filter work).
  EXPECT_NE(stack.proxy().admin_get("/metrics").find("kenc_proxy"), std::string::npos);
  EXPECT_EQ(check_proxy_config(stack.proxy().config_path()).first, 0)
      << check_proxy_config(stack.proxy().config_path()).second;

  // SIGKILL: the port closes at once; a restart serves on the same port.
  const auto old_pid = stack.proxy().pid();
  stack.proxy().kill();
  EXPECT_FALSE(stack.proxy().running());
  EXPECT_FALSE(port_open(stack.proxy().ports().bootstrap));
  ASSERT_EQ(stack.proxy().start(), "") << stack.logs();
  EXPECT_NE(stack.proxy().pid(), old_pid);
  auto more = make_records(5, "b");
  JavaClient::produce(stack.proxy_bootstrap(), topic, more, {{"acks", "all"}});

  // SIGTERM drains and exits 0; restart() brings it back.
  EXPECT_EQ(stack.proxy().stop(), 0) << stack.proxy().log_tail();
  ASSERT_EQ(stack.proxy().restart(), "") << stack.logs();
  auto all = sent;
  all.insert(all.end(), more.begin(), more.end());
  expect_same_records(all, JavaClient::consume(stack.proxy_bootstrap(), topic, all.size()));
}

// With an encryption block: two proxies with their own client certificates share one key
// broker (local KMS); the key broker can be killed and restarted on its port.
TEST(EncryptionStackFixture, KeyBrokerAndTwoProxiesStartAndRestart) {
  EncryptionStack::Options options;
  options.label = "stack-encryption";
  options.proxies = 2;
  EncryptionStack stack(options);
  ASSERT_EQ(stack.proxy_count(), 2u);
  EXPECT_NE(stack.proxy_bootstrap(0), stack.proxy_bootstrap(1));
  EXPECT_NE(stack.proxy_identity(0), stack.proxy_identity(1));
  for (size_t i = 0; i < 2; ++i) {
    auto [code, output] = check_proxy_config(stack.proxy(i).config_path());
    EXPECT_EQ(code, 0) << output;
    EXPECT_NE(stack.proxy_config(i).find("encryption:"), std::string::npos);
  }
  EXPECT_EQ(http_get_body(stack.keybroker_admin_port(), "/livez").empty(), false);

  // A plaintext topic (rule `plain-*`) works through either proxy whatever the key broker does.
  const std::string topic = unique_topic("plain");
  stack.kafka().create_topic(topic, 1);
  auto sent = make_records(10, "p");
  JavaClient::produce(stack.proxy_bootstrap(0), topic, sent);
  expect_same_records(sent, JavaClient::consume(stack.proxy_bootstrap(1), topic, sent.size()));

  const int port = stack.keybroker().port();
  stack.keybroker().kill();
  EXPECT_FALSE(stack.keybroker().running());
  EXPECT_FALSE(port_open(port));
  ASSERT_EQ(stack.keybroker().start(), "");
  EXPECT_TRUE(port_open(port));
  EXPECT_EQ(stack.keybroker().stop(), 0) << stack.keybroker().log();
  ASSERT_EQ(stack.keybroker().start(), "");

  // create_kek works against the running broker's key file.
  stack.create_kek("fixture-kek");
  std::ifstream keys(stack.dir() + "/keks.json");
  std::string text((std::istreambuf_iterator<char>(keys)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("fixture-kek"), std::string::npos) << text;
}

}  // namespace
}  // namespace kenc::testworld
