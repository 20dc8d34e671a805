// The fail-closed topic policy: a topic that matches no rule is refused under
// `unmatched_topic: reject` (the default). The producer gets a non-retriable error naming the
// topic and nothing reaches the broker, while other topics in the same stack keep working.
#include <gtest/gtest.h>

#include "tests/integration/encryption/encryption_support.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/python_client.h"

namespace kenc::testworld::e2e {
namespace {

using namespace std::chrono_literals;

class RejectPolicy : public EndToEndTest {};

TEST_F(RejectPolicy, AnUnmatchedTopicIsRejectedAndNothingIsStored) {
  // Neither `enc-*` nor `plain-*`: no rule matches.
  const std::string topic = unique_topic("other");
  create_topic(topic, 2);
  const auto records = rich_records(10, "rejected", 2);
  const double rejected_before = proxy_metric(
      0, "kenc_proxy_encryption_produce_partition_errors_total", {"reason=\"rejected_topic\""});

  const std::string java_error = client_error([&] {
    JavaClient::produce(stack().proxy_bootstrap(), topic, records, {{"acks", "all"}});
  });
  EXPECT_NE(java_error.find("InvalidRecordException"), std::string::npos) << java_error;
  EXPECT_NE(java_error.find(topic), std::string::npos)
      << "the error should name the topic: " << java_error;
  const std::string rdk_error = client_error([&] {
    PythonClient::produce(stack().proxy_bootstrap(), topic, records,
                          {{"message.timeout.ms", "30000"}});
  });
  EXPECT_NE(rdk_error.find("INVALID_RECORD"), std::string::npos) << rdk_error;

  EXPECT_EQ(stored_bytes(topic), 0u) << "a rejected record reached the broker";
  EXPECT_TRUE(JavaClient::consume(stack().direct_bootstrap(), topic, 1, {}, "", 5s).empty());
  EXPECT_GT(proxy_metric(0, "kenc_proxy_encryption_produce_partition_errors_total",
                         {"reason=\"rejected_topic\""}),
            rejected_before);

  // The same connection path still serves an encrypted topic.
  const std::string ok_topic = unique_topic("enc");
  create_topic(ok_topic, 1);
  auto sent = JavaClient::produce(stack().proxy_bootstrap(), ok_topic, rich_records(5, "ok", 1));
  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(), ok_topic, sent.size()),
                   "an encrypted topic next to the rejected one");
}

}  // namespace
}  // namespace kenc::testworld::e2e
