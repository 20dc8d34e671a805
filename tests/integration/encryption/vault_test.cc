// The whole product with the key broker's Vault backend against a real OpenBao 2.7.2 server
// (Transit): KEKs are Transit keys, DEKs come from `datakey/plaintext` and are unwrapped by
// `decrypt` after restarts; a topic whose KEK does not exist is rejected (`unresolved_kek`).
#include <gtest/gtest.h>

#include "tests/integration/encryption/encryption_support.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/python_client.h"
#include "tests/world/kms/openbao_server.h"

namespace kenc::testworld::e2e {
namespace {

using namespace std::chrono_literals;

// The key broker's KMS call counter (since its last start) for `call`, 0 when absent.
double kms_calls(const std::string& call) {
  double v = metric_value(http_get_body(stack().keybroker_admin_port(), "/metrics"),
                          "kenc_keybroker_kms_calls_total", {"call=\"" + call + "\""});
  return v < 0 ? 0 : v;
}

class VaultBackend : public EndToEndTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(OpenBaoEnvironment::ready()) << OpenBaoEnvironment::failure();
    EndToEndTest::SetUp();
  }
};

TEST_F(VaultBackend, RecordsRoundTripThroughTwoProxiesAndAreStoredEncrypted) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 2);
  stack().create_kek("KEK_" + topic);
  auto sent = JavaClient::produce(stack().proxy_bootstrap(0), topic,
                                  rich_records(40, "vj", 2, /*null_header_value=*/true),
                                  {{"acks", "all"}, {"enable.idempotence", "true"}});
  auto rdk = PythonClient::produce(stack().proxy_bootstrap(1), topic, rich_records(40, "vr", 2),
                                   {{"acks", "all"}});
  sent.insert(sent.end(), rdk.begin(), rdk.end());

  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(0), topic, sent.size()),
                   "Java consumer through the first proxy");
  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(1), topic, sent.size()),
                   "Java consumer through the second proxy");
  expect_cipher_records(sent, JavaClient::consume(stack().direct_bootstrap(), topic, sent.size()),
                        "Java consumer reading the broker directly");
  expect_no_plaintext_on_disk(topic, values_of(sent));
  EXPECT_GE(kms_calls("generate_dek"), 1) << "the DEK did not come from OpenBao";
}

TEST_F(VaultBackend, AfterTheKeyBrokerAndAProxyRestartOpenBaoUnwrapsTheDeks) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 1);
  stack().create_kek("KEK_" + topic);
  auto sent = JavaClient::produce(stack().proxy_bootstrap(0), topic,
                                  rich_records(30, "vrestart", 1, /*null_header_value=*/true));

  // SIGKILL both: the key broker's unwrap cache and the proxy's DEK cache are gone, so
  // reading needs OpenBao's `decrypt` of the stored EDEK.
  stack().keybroker().kill();
  ASSERT_EQ(stack().keybroker().start(), "");
  stack().proxy(0).kill();
  ASSERT_EQ(stack().proxy(0).start(), "") << stack().logs();
  EXPECT_EQ(kms_calls("unwrap_dek"), 0);

  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(0), topic, sent.size()),
                   "Java consumer through the restarted proxy");
  EXPECT_GE(kms_calls("unwrap_dek"), 1) << "the DEK was not unwrapped by OpenBao";
}

TEST_F(VaultBackend, ATopicWhoseTransitKeyDoesNotExistIsRejected) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 1);
  // No Transit key KEK_<topic>: `unresolved_kek: reject`.
  const std::string error = client_error([&] {
    JavaClient::produce(stack().proxy_bootstrap(0), topic, rich_records(5, "nokek", 1),
                        {{"acks", "all"}});
  });
  EXPECT_NE(error.find("InvalidRecordException"), std::string::npos) << error;
  EXPECT_NE(error.find(topic), std::string::npos) << "the error should name the topic: " << error;
  EXPECT_EQ(stored_bytes(topic), 0u) << "a rejected record reached the broker";
}

}  // namespace
}  // namespace kenc::testworld::e2e

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  using kenc::testworld::EncryptionStack;
  using kenc::testworld::OpenBaoEnvironment;
  // OpenBao first: the stack's key broker needs its address and root token.
  ::testing::AddGlobalTestEnvironment(new OpenBaoEnvironment());
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::e2e::StackEnvironment([] {
    if (!OpenBaoEnvironment::ready()) throw std::runtime_error(OpenBaoEnvironment::failure());
    EncryptionStack::Options options;
    options.label = "e2e-vault";
    options.proxies = 2;
    options.kms = EncryptionStack::Kms::kVault;
    options.openbao = &OpenBaoEnvironment::server();
    return options;
  }));
  return RUN_ALL_TESTS();
}
