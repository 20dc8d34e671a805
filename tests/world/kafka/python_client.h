#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/world/kafka/java_client.h"

namespace kenc::testworld {

// The Python Kafka client (confluent-kafka on librdkafka, Debian's python3-confluent-kafka),
// through tests/world/python/kenc_test_client.py run by /usr/bin/python3. Same records and
// properties as JavaClient, so a test can run one scenario with several real clients.
// Every call throws std::runtime_error, with the script's output, when the client fails.
class PythonClient {
 public:
  // Produces the records (key, value, headers, optional partition and timestamp) with producer
  // properties (librdkafka names: acks, enable.idempotence, compression.type, ...). Returns the
  // records with their partition and offset.
  static std::vector<TestRecord> produce(const std::string& bootstrap, const std::string& topic,
                                         const std::vector<TestRecord>& records,
                                         const Properties& props = {});

  // Consumes until `count` records arrived or the timeout passed (then returns what it got).
  // Without a group it assigns every partition from the beginning; with one it subscribes.
  static std::vector<TestRecord> consume(
      const std::string& bootstrap, const std::string& topic, size_t count,
      const Properties& props = {}, const std::string& group = "",
      std::chrono::milliseconds timeout = std::chrono::seconds(60));
};

}  // namespace kenc::testworld
