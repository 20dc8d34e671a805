#include "keybroker/audit/audit_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/unit/keybroker/temp_dir.h"

namespace kenc::keybroker::audit {
namespace {

AuditRecord sample() {
  AuditRecord r;
  r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795000000123));
  r.identity = "spiffe://kenc/proxy";
  r.operation = "lease";
  r.kek_alias = "orders";
  r.kek_id = "orders-kek";
  r.kek_version = 3;
  r.topic = "orders\xff";  // invalid UTF-8 must not break the line
  r.dek_id_hex = "00ff";
  r.lease_number = 7;
  r.outcome = "ok";
  r.latency_ms = 1.23456;
  return r;
}

TEST(AuditLog, OneParseableJsonLinePerRecord) {
  auto line = to_json_line(sample());
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2026-11-18T11:06:40.123Z");
  EXPECT_EQ(j["identity"], "spiffe://kenc/proxy");
  EXPECT_EQ(j["operation"], "lease");
  EXPECT_EQ(j["kek_alias"], "orders");
  EXPECT_EQ(j["kek_id"], "orders-kek");
  EXPECT_EQ(j["kek_version"], 3);
  EXPECT_EQ(j["dek_id"], "00ff");
  EXPECT_EQ(j["lease_number"], 7);
  EXPECT_EQ(j["outcome"], "ok");
  EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), 1.234);
  AuditRecord no_lease = sample();
  no_lease.lease_number.reset();
  EXPECT_TRUE(nlohmann::json::parse(to_json_line(no_lease))["lease_number"].is_null());
}

TEST(AuditLog, AppendsToAFile) {
  keybroker::testing::TempDir dir;
  auto path = (dir.path() / "audit.jsonl").string();
  auto log = AuditLog::open(path);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->write(sample()).ok());
  ASSERT_TRUE((*log)->write(sample()).ok());
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    EXPECT_FALSE(nlohmann::json::parse(line, nullptr, false).is_discarded());
    ++lines;
  }
  EXPECT_EQ(lines, 2);
}

TEST(AuditLog, AFailedWriteIsReported) {
  auto log = AuditLog::open("/dev/full");
  ASSERT_TRUE(log.ok());
  auto written = (*log)->write(sample());
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(AuditLog::open("/nonexistent-dir/audit.jsonl").ok());
}

}  // namespace
}  // namespace kenc::keybroker::audit
