// Idempotent and transactional producers through the encrypting proxy: the batch fields that
// make idempotence and transactions work (producer id and epoch, base sequence, the
// transactional attribute) survive encryption, and a read_committed consumer through the proxy
// sees exactly the committed records.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/integration/encryption/encryption_support.h"
#include "tests/world/kafka/kafka_environment.h"
#include "tests/world/kafka/python_client.h"
#include "tests/world/kafka/segment_batches.h"

namespace kenc::testworld::e2e {
namespace {

using namespace std::chrono_literals;

class Producers : public EndToEndTest {};

// Per partition and producer id, batch base sequences follow on from each other: the broker
// accepted every batch as the next in sequence, none as a duplicate or out of order.
void expect_contiguous_sequences(const std::vector<StoredBatch>& batches, size_t producers) {
  std::map<std::pair<int32_t, int64_t>, int32_t> next;  // (partition, pid) -> next sequence
  std::set<int64_t> pids;
  for (const auto& b : batches) {
    if (b.control()) continue;
    EXPECT_GE(b.producer_id, 0) << "batch at " << b.base_offset << " lost its producer id";
    EXPECT_GE(b.producer_epoch, 0);
    pids.insert(b.producer_id);
    auto key = std::make_pair(b.partition, b.producer_id);
    auto it = next.find(key);
    if (it == next.end()) {
      EXPECT_EQ(b.base_sequence, 0) << "partition " << b.partition << " offset " << b.base_offset;
    } else {
      EXPECT_EQ(b.base_sequence, it->second)
          << "partition " << b.partition << " offset " << b.base_offset;
    }
    next[key] = b.base_sequence + b.record_count;
  }
  EXPECT_EQ(pids.size(), producers);
}

TEST_F(Producers, IdempotentJavaAndLibrdkafkaProducersKeepTheirSequences) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 3);
  auto java = JavaClient::produce(stack().proxy_bootstrap(), topic, rich_records(1500, "idj", 3),
                                  {{"enable.idempotence", "true"},
                                   {"acks", "all"},
                                   {"max.in.flight.requests.per.connection", "5"},
                                   {"linger.ms", "5"}});
  auto rdk = PythonClient::produce(stack().proxy_bootstrap(), topic, rich_records(1500, "idr", 3),
                                   {{"enable.idempotence", "true"}, {"linger.ms", "5"}});
  auto sent = java;
  sent.insert(sent.end(), rdk.begin(), rdk.end());

  auto got = JavaClient::consume(stack().proxy_bootstrap(), topic, sent.size());
  expect_identical(sent, got, "Java consumer through the proxy");
  std::set<std::pair<int32_t, int64_t>> positions;
  for (const auto& r : got) positions.insert({r.partition, r.offset});
  EXPECT_EQ(positions.size(), sent.size()) << "a record was delivered twice";

  auto batches = read_stored_batches(stack().kafka().log_dirs(), topic);
  expect_contiguous_sequences(batches, 2);
  expect_cipher_records(sent, JavaClient::consume(stack().direct_bootstrap(), topic, sent.size()),
                        "Java consumer reading the broker directly");
  expect_no_plaintext_on_disk(topic, values_of(sent));
}

TEST_F(Producers, TransactionsCommitAndAbortReadCommittedSeesOnlyCommittedRecords) {
  const std::string topic = unique_topic("enc");
  create_topic(topic, 2);
  const Properties props{{"acks", "all"}, {"linger.ms", "0"}};
  auto first = JavaClient::produce(stack().proxy_bootstrap(), topic, rich_records(40, "txa", 2),
                                   props, "tx-first-" + topic, /*abort=*/false);
  const auto aborted = rich_records(40, "txb", 2);
  try {
    JavaClient::produce(stack().proxy_bootstrap(), topic, aborted, props, "tx-aborted-" + topic,
                        /*abort=*/true);
  } catch (const std::runtime_error& e) {
    // The test client reports the batches the abort failed (not yet sent) after the abort.
    ASSERT_NE(std::string(e.what()).find("TransactionAbortedException"), std::string::npos)
        << e.what();
  }
  auto second = JavaClient::produce(stack().proxy_bootstrap(), topic, rich_records(40, "txc", 2),
                                    props, "tx-second-" + topic, /*abort=*/false);
  auto committed = first;
  committed.insert(committed.end(), second.begin(), second.end());

  // Exactly the committed records, in offset order, none of the aborted ones in between.
  expect_identical(committed,
                   JavaClient::consume(stack().proxy_bootstrap(), topic, committed.size(),
                                       {{"isolation.level", "read_committed"}}),
                   "read_committed Java consumer through the proxy");
  expect_identical(committed,
                   PythonClient::consume(stack().proxy_bootstrap(), topic, committed.size(),
                                         {{"isolation.level", "read_committed"}}),
                   "read_committed librdkafka consumer through the proxy");

  // Read uncommitted, the aborted records that reached the broker decrypt too, and every
  // stored record of the topic, committed or aborted, is a cipher record.
  auto everything = JavaClient::consume(stack().direct_bootstrap(), topic, committed.size() + 40,
                                        {{"isolation.level", "read_uncommitted"}}, "", 10s);
  std::vector<TestRecord> stored_committed;
  std::set<std::string> aborted_keys;
  for (const auto& r : aborted) aborted_keys.insert(*r.key);
  size_t aborted_stored = 0;
  for (const auto& r : everything) {
    if (aborted_keys.count(r.key.value_or("")) != 0) {
      ++aborted_stored;
      bool has_cipher_header = false;
      for (const auto& h : r.headers) has_cipher_header |= h.first == kCipherHeader;
      EXPECT_TRUE(has_cipher_header) << "an aborted record was stored without encryption";
    } else {
      stored_committed.push_back(r);
    }
  }
  expect_cipher_records(committed, stored_committed, "committed records read directly");
  auto uncommitted = JavaClient::consume(stack().proxy_bootstrap(), topic, everything.size(),
                                         {{"isolation.level", "read_uncommitted"}});
  EXPECT_EQ(uncommitted.size(), everything.size());
  for (const auto& r : uncommitted) {
    if (aborted_keys.count(r.key.value_or("")) == 0) continue;
    const auto& original = aborted[static_cast<size_t>(std::stoi(r.key->substr(8)))];
    EXPECT_TRUE(r.same_content(original)) << "aborted record " << *r.key;
  }
  std::cerr << "[e2e] " << aborted_stored << " of " << aborted.size()
            << " aborted records reached the broker before the abort\n";

  auto all_values = values_of(committed);
  for (const auto& v : values_of(aborted)) all_values.push_back(v);
  expect_no_plaintext_on_disk(topic, all_values);

  // Data batches kept their transactional flag; the commit and abort markers are there.
  auto batches = read_stored_batches(stack().kafka().log_dirs(), topic);
  size_t markers = 0;
  for (const auto& b : batches) {
    EXPECT_TRUE(b.transactional()) << "batch at " << b.base_offset;
    markers += b.control() ? 1 : 0;
  }
  EXPECT_GE(markers, 2u);
}

}  // namespace
}  // namespace kenc::testworld::e2e
