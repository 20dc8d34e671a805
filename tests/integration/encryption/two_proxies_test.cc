// Two proxies with their own client certificates share one key broker: each reads what the
// other wrote, unwrapping the other's DEKs through the key broker under its own identity.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/integration/encryption/encryption_support.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/python_client.h"

namespace kenc::testworld::e2e {
namespace {

// Audit lines of the key broker for `topic`.
std::vector<nlohmann::json> audit_for(const std::string& topic) {
  std::ifstream in(stack().keybroker_audit_path());
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("topic", "") == topic) out.push_back(j);
  }
  return out;
}

// The DEK ids (and lease numbers) of the successful `operation` calls of `identity`.
std::map<std::string, std::set<int64_t>> deks_of(const std::vector<nlohmann::json>& lines,
                                                 const std::string& identity,
                                                 const std::string& operation) {
  std::map<std::string, std::set<int64_t>> out;
  for (const auto& j : lines) {
    if (j.value("identity", "") != identity || j.value("operation", "") != operation ||
        j.value("outcome", "") != "ok") {
      continue;
    }
    auto& numbers = out[j.value("dek_id", "")];
    if (j.contains("lease_number") && j["lease_number"].is_number()) {
      numbers.insert(j["lease_number"].get<int64_t>());
    }
  }
  return out;
}

class TwoProxies : public EndToEndTest {};

TEST_F(TwoProxies, EachReadsTheRecordsTheOtherWrote) {
  ASSERT_GE(stack().proxy_count(), 2u);
  const std::string topic = unique_topic("enc");
  create_topic(topic, 2);
  auto from_first =
      JavaClient::produce(stack().proxy_bootstrap(0), topic, rich_records(50, "first", 2));
  auto from_second =
      PythonClient::produce(stack().proxy_bootstrap(1), topic, rich_records(50, "second", 2));
  auto sent = from_first;
  sent.insert(sent.end(), from_second.begin(), from_second.end());

  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(1), topic, sent.size()),
                   "Java consumer through the second proxy");
  expect_identical(sent, PythonClient::consume(stack().proxy_bootstrap(0), topic, sent.size()),
                   "librdkafka consumer through the first proxy");
  expect_cipher_records(sent, JavaClient::consume(stack().direct_bootstrap(), topic, sent.size()),
                        "Java consumer reading the broker directly");
  expect_no_plaintext_on_disk(topic, values_of(sent));

  // Each proxy encrypted under its own lease, and could decrypt every DEK the other leased:
  // from a lease of its own on the same DEK (the key broker has one current DEK per KEK; each
  // lease has its own lease number, so IVs never repeat across the proxies), or through an
  // unwrap under its own identity.
  auto audit = audit_for(topic);
  const std::string ids[2] = {stack().proxy_identity(0), stack().proxy_identity(1)};
  for (int self = 0; self < 2; ++self) {
    const int other = 1 - self;
    auto own_leases = deks_of(audit, ids[self], "lease");
    auto own_unwraps = deks_of(audit, ids[self], "unwrap");
    auto other_leases = deks_of(audit, ids[other], "lease");
    EXPECT_FALSE(own_leases.empty()) << ids[self] << " leased no DEK";
    for (const auto& [dek, numbers] : other_leases) {
      EXPECT_TRUE(own_leases.count(dek) != 0 || own_unwraps.count(dek) != 0)
          << ids[self] << " read records under DEK " << dek << " without a lease or unwrap";
      if (own_leases.count(dek) != 0) {
        for (int64_t n : numbers) {
          EXPECT_EQ(own_leases[dek].count(n), 0u)
              << "lease number " << n << " of DEK " << dek << " was given to both proxies";
        }
      }
    }
  }
}

TEST_F(TwoProxies, AProxyRestartedWithAnEmptyCacheStillReadsEverything) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 1);
  auto sent =
      JavaClient::produce(stack().proxy_bootstrap(1), topic, rich_records(30, "restart", 1));
  // SIGKILL: no drain, the DEK cache and leases are lost with the process.
  stack().proxy(1).kill();
  ASSERT_EQ(stack().proxy(1).start(), "") << stack().logs();
  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(1), topic, sent.size()),
                   "Java consumer through the restarted proxy");
  // Its cache was empty: it unwrapped the DEK through the key broker under its own identity.
  EXPECT_FALSE(deks_of(audit_for(topic), stack().proxy_identity(1), "unwrap").empty());
  auto more = JavaClient::produce(stack().proxy_bootstrap(1), topic, rich_records(10, "after", 1));
  sent.insert(sent.end(), more.begin(), more.end());
  expect_identical(sent, JavaClient::consume(stack().proxy_bootstrap(0), topic, sent.size()),
                   "Java consumer through the other proxy");
}

}  // namespace
}  // namespace kenc::testworld::e2e
