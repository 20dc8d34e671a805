#include "tests/integration/encryption/encryption_support.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "tests/world/kafka/segment_scan.h"

namespace kenc::testworld::e2e {
namespace {

std::unique_ptr<EncryptionStack> g_stack;
std::string g_failure = "the stack environment was not registered";

std::string shown(const std::optional<std::string>& v) {
  if (!v) return "null";
  std::string out;
  for (char c : v->substr(0, 60)) out += (c >= 32 && c < 127) ? c : '.';
  return "\"" + out + (v->size() > 60 ? "...\"" : "\"") + " (" + std::to_string(v->size()) + " B)";
}

std::string where(const TestRecord& r) {
  return "partition " + std::to_string(r.partition) + " offset " + std::to_string(r.offset);
}

}  // namespace

void StackEnvironment::SetUp() {
  auto start = std::chrono::steady_clock::now();
  EncryptionStack::Options options;
  try {
    options = make_options_();
    g_stack = std::make_unique<EncryptionStack>(options);
    g_failure.clear();
  } catch (const std::exception& e) {
    g_failure = std::string("the encryption stack did not start: ") + e.what();
    FAIL() << g_failure;
  }
  std::cerr << "[test world] stack (Kafka, key broker, " << options.proxies << " proxies) ready in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
}

void StackEnvironment::TearDown() { g_stack.reset(); }

EncryptionStack& StackEnvironment::stack() {
  if (!g_stack) throw std::runtime_error(g_failure);
  return *g_stack;
}

bool StackEnvironment::ready() { return g_stack != nullptr; }

const std::string& StackEnvironment::failure() { return g_failure; }

void EndToEndTest::SetUp() {
  ASSERT_TRUE(StackEnvironment::ready()) << StackEnvironment::failure();
}

void EndToEndTest::TearDown() {
  if (HasFailure() && StackEnvironment::ready()) {
    std::cerr << "logs of the stack (kept in " << stack().dir() << "):\n" << stack().logs();
  }
}

std::vector<TestRecord> rich_records(int n, const std::string& tag, int partitions,
                                     bool null_header_value) {
  // Create times in the recent past: within what the broker accepts, and distinct from the
  // time of the append, so a lost timestamp shows.
  const int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() -
                       3'600'000;
  std::vector<TestRecord> records;
  for (int i = 0; i < n; ++i) {
    TestRecord r;
    r.key = tag + "-key-" + std::to_string(i);
    std::string value = tag + "-secret-value-" + std::to_string(i) + "-";
    value += std::string("\x00\x01\x7f\x80\xfe\xff", 6);
    value += std::string(static_cast<size_t>(i % 37), static_cast<char>('a' + i % 26));
    r.value = value;
    r.headers = {{"trace-id", tag + "-trace-" + std::to_string(i)},
                 {"bin", std::string("\x00\xff\x10", 3)}};
    if (null_header_value) r.headers.insert(r.headers.begin() + 1, {"empty", std::nullopt});
    r.timestamp = base + i * 7;
    r.partition = i % partitions;
    records.push_back(r);
  }
  return records;
}

std::vector<std::string> values_of(const std::vector<TestRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    if (r.value && !r.value->empty()) out.push_back(*r.value);
  }
  return out;
}

std::vector<TestRecord> by_partition_and_offset(std::vector<TestRecord> records) {
  std::stable_sort(records.begin(), records.end(), [](const TestRecord& a, const TestRecord& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
  });
  return records;
}

void expect_identical(const std::vector<TestRecord>& sent_in, std::vector<TestRecord> got,
                      const std::string& what) {
  auto sent = by_partition_and_offset(sent_in);
  got = by_partition_and_offset(std::move(got));
  ASSERT_EQ(got.size(), sent.size()) << what << ": record count";
  for (size_t i = 0; i < sent.size(); ++i) {
    const auto& s = sent[i];
    const auto& g = got[i];
    SCOPED_TRACE(what + ", " + where(s));
    EXPECT_EQ(g.partition, s.partition);
    EXPECT_EQ(g.offset, s.offset);
    EXPECT_EQ(g.key, s.key);
    EXPECT_EQ(g.value, s.value) << "got " << shown(g.value) << ", sent " << shown(s.value);
    EXPECT_EQ(g.headers, s.headers);
    if (s.timestamp >= 0) {
      EXPECT_EQ(g.timestamp, s.timestamp);
    }
    EXPECT_EQ(g.timestamp_type, "CreateTime");
  }
}

void expect_cipher_records(const std::vector<TestRecord>& sent_in, std::vector<TestRecord> direct,
                           const std::string& what) {
  auto sent = by_partition_and_offset(sent_in);
  direct = by_partition_and_offset(std::move(direct));
  ASSERT_EQ(direct.size(), sent.size()) << what << ": record count";
  for (size_t i = 0; i < sent.size(); ++i) {
    const auto& s = sent[i];
    const auto& d = direct[i];
    SCOPED_TRACE(what + ", " + where(s));
    EXPECT_EQ(d.offset, s.offset);
    EXPECT_EQ(d.key, s.key);
    if (s.timestamp >= 0) {
      EXPECT_EQ(d.timestamp, s.timestamp);
    }
    std::vector<std::pair<std::string, std::optional<std::string>>> others;
    std::vector<std::optional<std::string>> cipher_headers;
    for (const auto& h : d.headers) {
      if (h.first == kCipherHeader) {
        cipher_headers.push_back(h.second);
      } else {
        others.push_back(h);
      }
    }
    EXPECT_EQ(others, s.headers) << "the other headers must be stored as sent";
    if (!s.value) {
      EXPECT_FALSE(d.value.has_value()) << "a null value must stay null: " << shown(d.value);
      EXPECT_TRUE(cipher_headers.empty()) << "a null value is not a cipher record";
      continue;
    }
    ASSERT_EQ(cipher_headers.size(), 1u) << "one `kenc` header on a cipher record";
    EXPECT_EQ(cipher_headers[0], std::optional<std::string>(std::string(1, '\x01')));
    ASSERT_TRUE(d.value.has_value());
    EXPECT_NE(*d.value, *s.value);
    // AES-GCM adds at least the 16-byte tag, the cipher record format its metadata.
    EXPECT_GE(d.value->size(), s.value->size() + 16);
    if (!s.value->empty()) {
      EXPECT_EQ(d.value->find(*s.value), std::string::npos) << "the plaintext is in the record";
    }
  }
}

void expect_no_plaintext_on_disk(const std::string& topic, const std::vector<std::string>& values) {
  ASSERT_FALSE(values.empty());
  auto scan = scan_segments(stack().kafka().log_dirs(), topic, values);
  EXPECT_GT(scan.files, 0u) << "no segment file of " << topic;
  EXPECT_GT(scan.bytes, 0u) << "the segments of " << topic << " are empty";
  EXPECT_TRUE(scan.matches.empty()) << "plaintext on disk: " << scan.describe(values);
}

uint64_t stored_bytes(const std::string& topic) {
  // A needle that never occurs: the scan then only counts what it read.
  return scan_segments(stack().kafka().log_dirs(), topic, {std::string("\x01\x02\x03\x04", 4)})
      .bytes;
}

void create_topic(const std::string& topic, int partitions,
                  const std::map<std::string, std::string>& config) {
  stack().kafka().create_topic(topic, partitions, 1, config);
}

double proxy_metric(size_t proxy, const std::string& name,
                    const std::vector<std::string>& label_parts) {
  double v = metric_value(stack().proxy(proxy).admin_get("/metrics"), name, label_parts);
  return v < 0 ? 0 : v;
}

}  // namespace kenc::testworld::e2e
