#include "tests/world/kafka/kafka_environment.h"

#include <atomic>
#include <cctype>
#include <chrono>
#include <iostream>

namespace kenc::testworld {
namespace {
std::unique_ptr<KafkaCluster> g_cluster;
}  // namespace

void KafkaEnvironment::SetUp() {
  auto start = std::chrono::steady_clock::now();
  try {
    g_cluster = std::make_unique<KafkaCluster>(options_);
  } catch (const std::exception& e) {
    // Fail loudly: every test of this binary needs the cluster.
    FAIL() << "cannot start the Kafka test cluster: " << e.what();
  }
  std::cerr << "[test world] Kafka " << options_.brokers << "-broker cluster ready in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s at " << g_cluster->bootstrap_servers() << "\n";
}

void KafkaEnvironment::TearDown() { g_cluster.reset(); }

KafkaCluster& KafkaEnvironment::cluster() {
  if (!g_cluster) throw std::runtime_error("the Kafka test cluster did not start");
  return *g_cluster;
}

std::string unique_topic(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = prefix;
  if (info != nullptr) name += std::string("-") + info->test_suite_name() + "-" + info->name();
  name += "-" + std::to_string(counter++);
  for (char& c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    if (!ok) c = '_';
  }
  return name;
}

}  // namespace kenc::testworld
