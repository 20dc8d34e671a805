#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "tests/world/kafka/kafka_cluster.h"

namespace kenc::testworld {

// One Kafka cluster for a whole test binary: register it in main() (or with
// `::testing::AddGlobalTestEnvironment(new KafkaEnvironment(options))`) and reach it from tests
// with `KafkaEnvironment::cluster()`. Tests create their own topics, with unique names, so they
// do not depend on each other.
class KafkaEnvironment : public ::testing::Environment {
 public:
  explicit KafkaEnvironment(KafkaCluster::Options options = {}) : options_(std::move(options)) {}

  void SetUp() override;
  void TearDown() override;

  static KafkaCluster& cluster();

 private:
  KafkaCluster::Options options_;
};

// A topic name unique to the running test: `<prefix>-<TestSuite>-<Test>-<counter>`.
std::string unique_topic(const std::string& prefix = "t");

}  // namespace kenc::testworld
