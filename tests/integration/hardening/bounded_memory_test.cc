// The kenc-proxy daemon's memory stays bounded under the loads that grow a naive proxy without
// limit: a stalled consumer (fetches, never reads), 1,000 idle connections, a flood of
// maximum-size frames, and connections that announce maximum-size frames and send nothing more.
// Each test starts its own proxy in front of a real Kafka broker, so VmHWM (the peak resident
// set from /proc/<pid>/status) is that test's peak; the limits are derived from the
// configuration below and docs/limits.md explains them. Measured figures are printed.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include "tests/integration/hardening/raw_kafka.h"
#include "tests/world/kafka/java_client.h"
#include "tests/world/kafka/kafka_cluster.h"
#include "tests/world/kafka/kafka_environment.h"

namespace kenc::testworld::hardening {
namespace {

using namespace std::chrono_literals;

constexpr long kKiB = 1024;
constexpr long kMiB = 1024 * 1024;
constexpr long kMaxFrameBytes = 4 * kMiB;
constexpr long kMaxQueuedBytes = 1 * kMiB;
constexpr int kMaxInflight = 16;
// Per connection the proxy holds two 64 KiB read buffers (client and broker side,
// proxy/net/connection.cc) plus sockets, coroutine frames and queues: 256 KiB is the budget.
constexpr long kPerConnectionBudget = 256 * kKiB;
// Allocator slack: glibc arenas per worker thread and fragmentation.
constexpr long kSlack = 16 * kMiB;

class BoundedMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    run_dir_ = std::make_unique<RunDir>("memory-proxy");
    // A "free" port can be taken by another process (or one of the many client sockets of the
    // previous test) before the proxy binds it: try another range then.
    for (int attempt = 0; attempt < 5 && !proxy_; ++attempt) {
      port_ = free_port_range(1);
      std::ostringstream yaml;
      yaml << "worker_threads: 2\n"
           << "max_frame_bytes: " << kMaxFrameBytes << "\n"
           << "max_queued_bytes: " << kMaxQueuedBytes << "\n"
           << "max_inflight_requests: " << kMaxInflight << "\n"
           << "virtual_clusters:\n"
           << "  - name: plain\n"
           << "    upstream: {bootstrap_servers: [\""
           << KafkaEnvironment::cluster().bootstrap_servers() << "\"]}\n"
           << "    gateway:\n"
           << "      bootstrap: \"127.0.0.1:" << port_ << "\"\n"
           << "      port_per_broker: {node_id_min: 1, node_id_max: 1}\n";
      try {
        proxy_ = std::make_unique<ProxyDaemon>(*run_dir_, "proxy-" + std::to_string(attempt),
                                               yaml.str(), port_ + 1);
      } catch (const std::runtime_error& e) {
        std::cout << "retrying with other ports: " << e.what() << "\n";
      }
    }
    ASSERT_TRUE(proxy_) << "kenc-proxy did not start";
    RawConnection warm(port_);
    ASSERT_TRUE(api_versions_round_trip(warm, 1));
    baseline_kib_ = rss_kib(proxy_->pid());
  }
  void TearDown() override {
    if (proxy_) {
      EXPECT_TRUE(proxy_->running()) << proxy_->log();
    }
    proxy_.reset();
    run_dir_.reset();
  }

  // Waits until the proxy's RSS has not changed for 3 s (at most 60 s): whatever the load could
  // make it buffer, it has buffered by then.
  void wait_until_rss_settles() {
    long last = -1;
    int stable = 0;
    for (int i = 0; i < 120 && stable < 6; ++i) {
      std::this_thread::sleep_for(500ms);
      long now = rss_kib(proxy_->pid());
      stable = now == last ? stable + 1 : 0;
      last = now;
    }
  }

  void report(const std::string& what, long limit_bytes) {
    const long peak = peak_rss_kib(proxy_->pid());
    std::cout << what << ": baseline " << baseline_kib_ / 1024.0 << " MiB, peak RSS "
              << peak / 1024.0 << " MiB (growth " << (peak - baseline_kib_) / 1024.0
              << " MiB), limit " << limit_bytes / double(kMiB) << " MiB above baseline\n";
    EXPECT_LE((peak - baseline_kib_) * kKiB, limit_bytes) << what;
  }

  std::unique_ptr<RunDir> run_dir_;
  std::unique_ptr<ProxyDaemon> proxy_;
  int port_ = 0;
  long baseline_kib_ = 0;
};

TEST_F(BoundedMemory, AStalledConsumerCannotGrowTheProxy) {
  const std::string topic = unique_topic("stalled");
  KafkaEnvironment::cluster().create_topic(topic, 1, 1);
  std::string input;
  const std::string value(4000, 'x');
  for (int i = 0; i < 2000; ++i) input += value + "\n";  // 8 MB in the partition
  auto produced = run_kcat(
      {"-b", KafkaEnvironment::cluster().bootstrap_servers(), "-P", "-t", topic, "-X", "acks=all"},
      input);
  ASSERT_EQ(produced.exit_code, 0) << produced.output;

  // 200 fetches of up to 1 MiB each (200 MiB of responses) from a client whose socket buffer is
  // tiny and who never reads.
  constexpr int kFetches = 200;
  RawConnection stalled(port_, 4096);
  Bytes requests;
  for (int i = 0; i < kFetches; ++i) {
    Bytes one = fetch_request(1000 + i, topic, 0, 0, static_cast<int32_t>(kMiB));
    requests.insert(requests.end(), one.begin(), one.end());
  }
  std::thread writer([&] { stalled.send(requests); });  // blocks once the proxy stops reading
  wait_until_rss_settles();

  // Meanwhile another client is served.
  RawConnection other(port_);
  EXPECT_TRUE(api_versions_round_trip(other, 7)) << "the stall blocked another connection";

  // Bound: what one connection may queue towards the client, plus one frame being read from the
  // broker and one being written, plus the per-connection budget and slack.
  report("stalled consumer, " + std::to_string(kFetches) + " x 1 MiB fetches",
         kMaxQueuedBytes + 2 * kMaxFrameBytes + kPerConnectionBudget + kSlack);

  // Backpressure lost nothing: reading now yields every response, in order.
  for (int i = 0; i < kFetches; ++i) {
    auto response = stalled.read_frame(60s);
    ASSERT_TRUE(response.has_value()) << "response " << i << " missing";
    ASSERT_EQ(correlation_id_of(*response), 1000 + i);
  }
  writer.join();
}

TEST_F(BoundedMemory, AThousandIdleConnections) {
  constexpr int kConnections = 1000;
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int i = 0; i < kConnections; ++i) {
    connections.push_back(std::make_unique<RawConnection>(port_));
    // One round trip each, so the proxy has also opened the broker-side connection.
    ASSERT_TRUE(api_versions_round_trip(*connections.back(), i)) << "connection " << i;
  }
  EXPECT_GE(open_fds(proxy_->pid()), kConnections) << "the proxy does not hold the connections";
  wait_until_rss_settles();
  report(std::to_string(kConnections) + " idle connections",
         kConnections * kPerConnectionBudget + kSlack);
  const long per_connection = (rss_kib(proxy_->pid()) - baseline_kib_) * kKiB / kConnections;
  std::cout << "  about " << per_connection / 1024 << " KiB per idle connection\n";
  // Still all served.
  EXPECT_TRUE(api_versions_round_trip(*connections.front(), 1));
  EXPECT_TRUE(api_versions_round_trip(*connections.back(), 2));
}

// Each connection may hold about max_queued_bytes waiting plus one frame being read and one
// being written per direction; before max_queued_bytes was applied, 64 queued frames per
// connection were allowed and this flood grew the proxy by 208 MiB.
TEST_F(BoundedMemory, AFloodOfMaximumSizeFrames) {
  const std::string topic = unique_topic("flood");
  KafkaEnvironment::cluster().create_topic(topic, 1, 1);
  // A Produce frame of exactly max_frame_bytes: one record that fills it. The broker refuses it
  // (larger than its message.max.bytes) with an error response, so every frame goes all the way.
  // Varint lengths inside the record grow with the value, so fit the value size in two steps.
  size_t value_bytes = kMaxFrameBytes;
  Bytes big;
  for (int i = 0; i < 4; ++i) {
    big = produce_request(1, topic, 0, record_batch(1, value_bytes));
    value_bytes -= big.size() - (kMaxFrameBytes + 4);
  }
  ASSERT_EQ(static_cast<long>(big.size()), kMaxFrameBytes + 4);

  constexpr int kConnections = 8;
  constexpr int kFramesEach = 8;
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int c = 0; c < kConnections; ++c) {
    clients.emplace_back([&] {
      RawConnection conn(port_);
      std::thread sender([&] {
        for (int i = 0; i < kFramesEach; ++i) conn.send(big);
      });
      for (int i = 0; i < kFramesEach; ++i) {
        auto response = conn.read_frame(120s);
        if (!response) break;
        if (produce_error(*response).value_or(0) != 0) ++answered;
      }
      sender.join();
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), kConnections * kFramesEach) << "some frames got no error response";
  report(std::to_string(kConnections) + " connections x " + std::to_string(kFramesEach) +
             " frames of max_frame_bytes",
         kConnections * (2 * kMaxFrameBytes + kMaxQueuedBytes + kPerConnectionBudget) + kSlack);
}

TEST_F(BoundedMemory, AnnouncedMaximumSizeFramesCostNothingUntilSent) {
  // Each connection announces a max_frame_bytes frame and sends 100 bytes of it, then waits. A
  // reader that allocated the announced size would hold 300 x 4 MiB = 1.2 GiB here.
  constexpr int kConnections = 300;
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int i = 0; i < kConnections; ++i) {
    connections.push_back(std::make_unique<RawConnection>(port_));
    Bytes partial = {0x00, 0x40, 0x00, 0x00};  // 4 MiB
    partial.resize(partial.size() + 100, 0x00);
    ASSERT_TRUE(connections.back()->send(partial));
  }
  wait_until_rss_settles();
  report(std::to_string(kConnections) + " connections each announcing a 4 MiB frame",
         kConnections * kPerConnectionBudget + kSlack);
  RawConnection other(port_);
  EXPECT_TRUE(api_versions_round_trip(other, 5));
}

}  // namespace
}  // namespace kenc::testworld::hardening

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  kenc::testworld::KafkaCluster::Options options;
  options.label = "memory-kafka";
  ::testing::AddGlobalTestEnvironment(new kenc::testworld::KafkaEnvironment(options));
  return RUN_ALL_TESTS();
}
