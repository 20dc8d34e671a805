#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/world/base/admin_http.h"
#include "tests/world/kafka/java_client.h"
#include "tests/world/stack/encryption_stack.h"

namespace kenc::testworld::e2e {

// One EncryptionStack for the whole test binary (starting Kafka is most of a test's cost).
// Register it in main(); tests reach it with stack(). Each test uses its own topics.
class StackEnvironment : public ::testing::Environment {
 public:
  explicit StackEnvironment(EncryptionStack::Options options)
      : make_options_([options] { return options; }) {}
  // The options are made at SetUp, after the environments registered before this one (e.g.
  // OpenBaoEnvironment, whose server the Vault backend needs) have started.
  explicit StackEnvironment(std::function<EncryptionStack::Options()> make_options)
      : make_options_(std::move(make_options)) {}
  void SetUp() override;
  void TearDown() override;

  static EncryptionStack& stack();
  static bool ready();
  static const std::string& failure();

 private:
  std::function<EncryptionStack::Options()> make_options_;
};

inline EncryptionStack& stack() { return StackEnvironment::stack(); }

// Base of every end-to-end test: fails at once when the stack did not start, and prints the
// proxies' and the key broker's logs when a test failed.
class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
};

// The record header the proxy adds to every cipher record, and its value (format version 1).
inline const std::string kCipherHeader = "kenc";

// `n` records with everything a record can carry: a key, a value that is unique, long enough
// to be searched for on disk and contains non-text bytes, headers (one binary, and with
// `null_header_value` one whose value is null), an explicit create timestamp, and a partition
// (i % partitions). Debian's confluent-kafka 1.7.0 crashes the Python interpreter after reading
// a few records with null header values (a reference-count bug in its C extension: "Fatal
// Python error: none_dealloc"), so only tests whose records are read by the Java client alone
// use them.
std::vector<TestRecord> rich_records(int n, const std::string& tag, int partitions = 1,
                                     bool null_header_value = false);

// The values of `records` (non-null), for segment scans.
std::vector<std::string> values_of(const std::vector<TestRecord>& records);

// `got` in (partition, offset) order grouped per partition must equal `sent` in send order per
// partition: key, value, headers, timestamp (CreateTime). `what` names the path in messages.
void expect_identical(const std::vector<TestRecord>& sent, std::vector<TestRecord> got,
                      const std::string& what);

// What a consumer reading the broker directly must see for records written through an
// encrypting proxy: the same keys, timestamps and other headers, one `kenc` header (value 0x01),
// and a value that is not the plaintext (null values stay null, without a `kenc` header).
void expect_cipher_records(const std::vector<TestRecord>& sent, std::vector<TestRecord> direct,
                           const std::string& what);

// The topic's segment files were read (files > 0, bytes > 0) and none contains any of `values`.
void expect_no_plaintext_on_disk(const std::string& topic, const std::vector<std::string>& values);

// Total bytes in the topic's segment files (0: nothing was ever stored).
uint64_t stored_bytes(const std::string& topic);

// Creates `topic` on the stack's cluster.
void create_topic(const std::string& topic, int partitions = 1,
                  const std::map<std::string, std::string>& config = {});

// Records sorted by (partition, offset).
std::vector<TestRecord> by_partition_and_offset(std::vector<TestRecord> records);

// The metric summed over every proxy of the stack (see metric_value), 0 when absent.
double proxy_metric(size_t proxy, const std::string& name,
                    const std::vector<std::string>& label_parts = {});

// Runs `fn`, which must throw std::runtime_error (a client that failed); returns its message,
// or "" (and records a test failure) when it did not throw.
template <typename Fn>
std::string client_error(Fn&& fn) {
  try {
    fn();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "the client succeeded where it should have failed";
  return "";
}

}  // namespace kenc::testworld::e2e
