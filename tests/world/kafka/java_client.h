#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/world/base/process.h"

namespace kenc::testworld {

// A Kafka record as the tests see it: raw bytes (std::string as a byte container), null allowed.
struct TestRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int32_t partition = -1;  // -1: let the producer choose
  int64_t timestamp = -1;  // -1: let the producer choose
  // Filled in by consume (and offset/partition by produce):
  std::string topic;
  int64_t offset = -1;
  std::string timestamp_type;

  bool same_content(const TestRecord& o) const {
    return key == o.key && value == o.value && headers == o.headers;
  }
};

using Properties = std::map<std::string, std::string>;

// The real Apache Kafka Java clients (producer, consumer, admin), through our KencTestClient
// program run on the world's Kafka jars. Each call starts a JVM (about a second).
// Every call throws std::runtime_error, with the client's output, when the client fails.
class JavaClient {
 public:
  // Produces the records (with producer properties such as acks, enable.idempotence,
  // compression.type). With a transactional id, all records go in one transaction that is
  // committed, or aborted when `abort`. Returns the records with their partition and offset.
  // The JVM is killed after `timeout` (the error then ends with "[killed after timeout]").
  static std::vector<TestRecord> produce(
      const std::string& bootstrap, const std::string& topic,
      const std::vector<TestRecord>& records, const Properties& props = {},
      const std::string& transactional_id = "", bool abort = false,
      std::chrono::milliseconds timeout = std::chrono::minutes(3));

  // Consumes until `count` records arrived or the timeout passed (then returns what it got).
  // Without a group it assigns every partition from the beginning; with one it subscribes
  // (set `group.protocol` to `consumer` for KIP-848, `classic` for the classic protocol).
  static std::vector<TestRecord> consume(
      const std::string& bootstrap, const std::string& topic, size_t count,
      const Properties& props = {}, const std::string& group = "",
      std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Reads every partition from the beginning up to the end offsets it finds at the start (no
  // group). Throws if fewer than `at_least` records came before the timeout.
  static std::vector<TestRecord> consume_all(
      const std::string& bootstrap, const std::string& topic, size_t at_least,
      const Properties& props = {}, std::chrono::milliseconds timeout = std::chrono::minutes(3));

  // Admin commands: create-topic T P RF [k=v...], delete-topic T, list-topics, describe-topic T,
  // describe-cluster. Returns the command's JSON answer.
  static nlohmann::json admin(const std::string& bootstrap, const std::vector<std::string>& args,
                              const Properties& props = {});
};

// kcat (librdkafka's CLI) with the given arguments; returns exit code and output.

CommandResult run_kcat(const std::vector<std::string>& args, const std::string& input = "",
                       std::chrono::milliseconds timeout = std::chrono::seconds(120));

std::string base64_encode(const std::string& bytes);
std::string base64_decode(const std::string& text);

}  // namespace kenc::testworld
