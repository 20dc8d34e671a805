// Fast checks of the test world's parsers and scanners on fixed inputs (no Kafka started).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/world/base/run_dir.h"
#include "tests/world/kafka/kafka_perf.h"
#include "tests/world/kafka/segment_scan.h"

namespace kenc::testworld {
namespace {

TEST(PerfParsers, ProducerSummaryLineIsParsedAndProgressLinesIgnored) {
  const std::string output =
      "12001 records sent, 2400.2 records/sec (2.34 MB/sec), 10.5 ms avg latency, 99.0 ms max "
      "latency.\n"
      "20000 records sent, 10319.9 records/sec (10.08 MB/sec), 1002.60 ms avg latency, 1354.00 ms "
      "max latency, 1129 ms 50th, 1328 ms 95th, 1344 ms 99th, 1353 ms 99.9th.\n";
  auto r = parse_producer_perf(output);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->records, 20000);
  EXPECT_DOUBLE_EQ(r->records_per_sec, 10319.9);
  EXPECT_DOUBLE_EQ(r->mb_per_sec, 10.08);
  EXPECT_DOUBLE_EQ(r->avg_latency_ms, 1002.60);
  EXPECT_DOUBLE_EQ(r->max_latency_ms, 1354.0);
  EXPECT_DOUBLE_EQ(r->p50_ms, 1129);
  EXPECT_DOUBLE_EQ(r->p95_ms, 1328);
  EXPECT_DOUBLE_EQ(r->p99_ms, 1344);
  EXPECT_DOUBLE_EQ(r->p999_ms, 1353);
  EXPECT_FALSE(parse_producer_perf("12001 records sent, 2400.2 records/sec (2.34 MB/sec)\n"));
  EXPECT_FALSE(parse_producer_perf(""));
}

TEST(PerfParsers, ConsumerHeaderAndValuesAreParsedByName) {
  const std::string output =
      "WARN something on stderr\n"
      "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
      "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
      "2026-11-28 12:09:20:119, 2026-11-28 12:09:21:058, 19.5313, 20.8001, 20000, 21299.2545, "
      "445, 494, 39.5369, 40485.8300\n";
  auto r = parse_consumer_perf(output);
  ASSERT_TRUE(r.has_value());
  EXPECT_DOUBLE_EQ(r->mb, 19.5313);
  EXPECT_DOUBLE_EQ(r->mb_per_sec, 20.8001);
  EXPECT_EQ(r->messages, 20000);
  EXPECT_DOUBLE_EQ(r->messages_per_sec, 21299.2545);
  EXPECT_EQ(r->rebalance_ms, 445);
  EXPECT_EQ(r->fetch_ms, 494);
  EXPECT_DOUBLE_EQ(r->fetch_mb_per_sec, 39.5369);
  EXPECT_DOUBLE_EQ(r->fetch_messages_per_sec, 40485.83);
  // end.time is local time; whatever the zone, it is late 2026 with 58 ms past the second.
  EXPECT_EQ(r->end_epoch_ms % 1000, 58);
  EXPECT_GT(r->end_epoch_ms, int64_t{1795000000000});
  EXPECT_LT(r->end_epoch_ms, int64_t{1796000000000});
  EXPECT_EQ(r->fetch_requests, 0);  // no --print-metrics output
  // With --print-metrics: the client-wide series, not the per-topic ones.
  auto with_metrics = parse_consumer_perf(
      output +
      "\nMetric Name                                                        Value\n"
      "consumer-fetch-manager-metrics:fetch-total:{client-id=perf-consumer-client}    : 56.000\n"
      "consumer-fetch-manager-metrics:records-per-request-avg:{client-id=perf-consumer-client, "
      "topic=t}   : 1.000\n"
      "consumer-fetch-manager-metrics:records-per-request-avg:{client-id=perf-consumer-client}  "
      "  : 27272.727\n");
  ASSERT_TRUE(with_metrics.has_value());
  EXPECT_DOUBLE_EQ(with_metrics->fetch_requests, 56);
  EXPECT_DOUBLE_EQ(with_metrics->records_per_fetch, 27272.727);
  // A header without its values line, or garbage values, is no summary.
  EXPECT_FALSE(parse_consumer_perf(output.substr(0, output.rfind("2026-11-28 12:09:20"))));
  EXPECT_FALSE(parse_consumer_perf("start.time, data.consumed.in.nMsg\nx, y\n"));
}

TEST(SegmentScan, FindsEveryOccurrenceInThePartitionsOfOneTopicOnly) {
  RunDir dir("segment-scan");
  namespace fs = std::filesystem;
  auto write = [&](const std::string& rel, const std::string& data) {
    fs::create_directories(fs::path(dir.path() + "/" + rel).parent_path());
    std::ofstream(dir.path() + "/" + rel, std::ios::binary) << data;
  };
  write("orders-0/00000000000000000000.log", std::string("xxsecretyy\0secret", 17));
  write("orders-1/00000000000000000000.log", "nothing here");
  write("orders-1/00000000000000000000.index", "secret");        // not a segment
  write("orders-eu-0/00000000000000000000.log", "secret");       // another topic
  write("orders-0.deleted/00000000000000000000.log", "secret");  // not a partition folder

  const std::vector<std::string> needles = {"secret", "absent"};
  auto scan = scan_segments({dir.path()}, "orders", needles);
  EXPECT_EQ(scan.files, 2u);
  EXPECT_EQ(scan.bytes, 17u + 12u);
  ASSERT_EQ(scan.matches.size(), 2u) << scan.describe(needles);
  EXPECT_EQ(scan.matches[0].offset, 2u);
  EXPECT_EQ(scan.matches[1].offset, 11u);
  EXPECT_TRUE(scan.found(0));
  EXPECT_FALSE(scan.found(1));
  EXPECT_THROW(scan_segments({dir.path()}, "orders", {""}), std::invalid_argument);
}

}  // namespace
}  // namespace kenc::testworld
