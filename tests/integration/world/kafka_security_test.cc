// The cluster's SASL/PLAIN and TLS listener options, checked with real clients: kcat
// (librdkafka) and the Java client. Certificates are made for the test with the openssl CLI.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "tests/world/base/run_dir.h"
#include "tests/world/kafka/java_client.h"
#include "tests/world/kafka/kafka_cluster.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/tls_certificates.h"

namespace kenc::testworld {
namespace {

// One cluster with PLAINTEXT, SASL_PLAINTEXT and SSL listeners for all tests of this binary.
class SecureKafkaEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    certs_dir_ = std::make_unique<RunDir>("certs");
    try {
      certs = make_tls_certificates(certs_dir_->path());
      KafkaCluster::Options options;
      options.label = "kafka-secure";
      options.sasl_plain_users = {{"alice", "alice-secret"}, {"bob", "bob-secret"}};
      options.tls_cert_chain_pem_file = certs.cert_chain;
      options.tls_private_key_pem_file = certs.key;
      cluster = std::make_unique<KafkaCluster>(options);
    } catch (const std::exception& e) {
      FAIL() << "cannot start the SASL/TLS Kafka cluster: " << e.what();
    }
  }
  void TearDown() override {
    cluster.reset();
    certs_dir_.reset();
  }

  static inline TlsCertificates certs;
  static inline std::unique_ptr<KafkaCluster> cluster;

 private:
  std::unique_ptr<RunDir> certs_dir_;
};

KafkaCluster& secure_cluster() {
  if (!SecureKafkaEnvironment::cluster) throw std::runtime_error("the cluster did not start");
  return *SecureKafkaEnvironment::cluster;
}

std::vector<std::string> sasl_args(const std::string& user, const std::string& password) {
  return {"-X", "security.protocol=SASL_PLAINTEXT",
          "-X", "sasl.mechanisms=PLAIN",
          "-X", "sasl.username=" + user,
          "-X", "sasl.password=" + password};
}

TEST(KafkaSecurity, SaslPlainListenerAcceptsKnownUsersOnly) {
  auto& cluster = secure_cluster();
  ASSERT_FALSE(cluster.sasl_bootstrap_servers().empty());
  auto args = sasl_args("alice", "alice-secret");
  args.insert(args.end(), {"-b", cluster.sasl_bootstrap_servers(), "-L", "-J", "-m", "15"});
  auto ok = run_kcat(args);
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  auto md = nlohmann::json::parse(ok.output.substr(ok.output.find('{')));
  EXPECT_EQ(md["brokers"].size(), 1u);

  auto bad = sasl_args("alice", "wrong-password");
  bad.insert(bad.end(), {"-b", cluster.sasl_bootstrap_servers(), "-L", "-m", "4"});
  auto refused = run_kcat(bad);
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_NE(refused.output.find("uthentication"), std::string::npos) << refused.output;
}

TEST(KafkaSecurity, SaslPlainRoundTripWithKcatAndJava) {
  auto& cluster = secure_cluster();
  const std::string topic = unique_topic("sasl");
  cluster.create_topic(topic, 1);
  auto produce = sasl_args("bob", "bob-secret");
  produce.insert(produce.end(), {"-b", cluster.sasl_bootstrap_servers(), "-t", topic, "-P", "-K:"});
  auto produced = run_kcat(produce, "k1:over-sasl\n");
  ASSERT_EQ(produced.exit_code, 0) << produced.output;

  Properties props = {
      {"security.protocol", "SASL_PLAINTEXT"},
      {"sasl.mechanism", "PLAIN"},
      {"sasl.jaas.config",
       "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"alice\" "
       "password=\"alice-secret\";"}};
  auto records = JavaClient::consume(cluster.sasl_bootstrap_servers(), topic, 1, props);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, std::optional<std::string>("k1"));
  EXPECT_EQ(records[0].value, std::optional<std::string>("over-sasl"));
}

TEST(KafkaSecurity, TlsListenerServesTheTestCertificate) {
  auto& cluster = secure_cluster();
  ASSERT_FALSE(cluster.tls_bootstrap_servers().empty());
  const std::string topic = unique_topic("tls");
  cluster.create_topic(topic, 1);
  const std::vector<std::string> tls = {"-X", "security.protocol=SSL", "-X",
                                        "ssl.ca.location=" + SecureKafkaEnvironment::certs.ca_cert};
  auto produce = tls;
  produce.insert(produce.end(), {"-b", cluster.tls_bootstrap_servers(), "-t", topic, "-P", "-K:"});
  auto produced = run_kcat(produce, "a:over-tls-1\nb:over-tls-2\n");
  ASSERT_EQ(produced.exit_code, 0) << produced.output;
  auto consume = tls;
  consume.insert(consume.end(), {"-b", cluster.tls_bootstrap_servers(), "-t", topic, "-C", "-e",
                                 "-o", "beginning", "-f", "%k=%s\\n"});
  auto consumed = run_kcat(consume);
  ASSERT_EQ(consumed.exit_code, 0) << consumed.output;
  EXPECT_NE(consumed.output.find("a=over-tls-1\nb=over-tls-2\n"), std::string::npos)
      << consumed.output;

  // The Java client verifies the same chain through a PEM truststore.
  Properties java_tls = {{"security.protocol", "SSL"},
                         {"ssl.truststore.type", "PEM"},
                         {"ssl.truststore.location", SecureKafkaEnvironment::certs.ca_cert}};
  auto records = JavaClient::consume(cluster.tls_bootstrap_servers(), topic, 2, java_tls);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].value, std::optional<std::string>("over-tls-2"));
}

TEST(KafkaSecurity, TlsClientRejectsAnUnknownCa) {
  auto& cluster = secure_cluster();
  RunDir other_dir("other-ca");
  auto other = make_tls_certificates(other_dir.path());
  auto refused = run_kcat({"-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + other.ca_cert,
                           "-b", cluster.tls_bootstrap_servers(), "-L", "-m", "4"});
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_NE(refused.output.find("certificate verify failed"), std::string::npos) << refused.output;
}

}  // namespace
}  // namespace kenc::testworld

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::SecureKafkaEnvironment());
  return RUN_ALL_TESTS();
}
