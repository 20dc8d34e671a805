#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/world/base/process.h"

namespace kenc::testworld {

// The pinned Apache Kafka release the test world runs: <kafka.version> of pom.xml, read by CMake.
inline constexpr const char* kKafkaVersion = KENC_KAFKA_VERSION;

// The Kafka jars (broker, tools, clients, logging) in `<world>/kafka-<version>/libs`, fetched with
// Maven on first use and reused afterwards; plus our Java test client, compiled on first use.
// Throws std::runtime_error with the reason (no Java, Maven failed) when they cannot be had.
class KafkaDistribution {
 public:
  static const KafkaDistribution& get();

  const std::string& home() const { return home_; }
  // `libs/*`, plus the compiled test client.
  std::string classpath() const;

  // `java` with the test world's JVM options, the log4j config writing to `log_file`, and the
  // class path, ready for a main class and its arguments.
  std::vector<std::string> java_command(const std::string& main_class,
                                        const std::vector<std::string>& args,
                                        const std::string& log_file,
                                        const std::string& heap = "512m",
                                        bool fast_start = true) const;

  // Runs a Java main class from the distribution to completion (Kafka's tools, our test client).
  CommandResult run_java(const std::string& main_class, const std::vector<std::string>& args,
                         const std::string& input = "",
                         std::chrono::milliseconds timeout = std::chrono::minutes(3)) const;

 private:
  KafkaDistribution();
  void fetch_jars();
  void compile_test_client();

  std::string home_;
  std::string client_classes_;
};

}  // namespace kenc::testworld
