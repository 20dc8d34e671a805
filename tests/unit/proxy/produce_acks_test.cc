#include "proxy/net/produce_acks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kenc::proxy {
namespace {

void put16(std::vector<uint8_t>& out, int16_t v) {
  out.push_back(static_cast<uint8_t>(static_cast<uint16_t>(v) >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// Request header v1 (non-flexible): key, version, correlation id, client id.
std::vector<uint8_t> header(int16_t version, const std::string& client_id) {
  std::vector<uint8_t> out;
  put16(out, 0);
  put16(out, version);
  out.insert(out.end(), {0, 0, 0, 7});
  put16(out, static_cast<int16_t>(client_id.size()));
  out.insert(out.end(), client_id.begin(), client_id.end());
  return out;
}

TEST(ProduceAcks, Version0HasAcksRightAfterTheHeader) {
  auto req = header(0, "client");
  put16(req, 1);
  auto acks = peek_produce_acks(req, 0);
  ASSERT_TRUE(acks.ok()) << acks.error().to_string();
  EXPECT_EQ(*acks, 1);
}

TEST(ProduceAcks, Version3SkipsTheTransactionalId) {
  auto null_txn = header(3, "c");
  put16(null_txn, -1);
  put16(null_txn, 0);
  EXPECT_EQ(*peek_produce_acks(null_txn, 3), 0);

  auto txn = header(8, "c");
  put16(txn, 4);
  txn.insert(txn.end(), {'t', 'x', 'n', '1'});
  put16(txn, -1);
  EXPECT_EQ(*peek_produce_acks(txn, 8), -1);
}

TEST(ProduceAcks, FlexibleVersionsSkipTaggedFieldsAndCompactStrings) {
  auto req = header(9, "client-id");
  // Header tagged fields: two fields (tag 0 with 3 bytes, tag 5 with 0 bytes).
  req.insert(req.end(), {2, 0, 3, 'a', 'b', 'c', 5, 0});
  // Compact nullable transactional id "tx" (length + 1 = 3).
  req.insert(req.end(), {3, 't', 'x'});
  put16(req, -1);
  auto acks = peek_produce_acks(req, 11);
  ASSERT_TRUE(acks.ok()) << acks.error().to_string();
  EXPECT_EQ(*acks, -1);

  auto null_txn = header(12, "");
  null_txn.insert(null_txn.end(), {0, 0});  // no tagged fields, null transactional id
  put16(null_txn, 0);
  EXPECT_EQ(*peek_produce_acks(null_txn, 12), 0);
}

TEST(ProduceAcks, TruncatedRequestsAreErrorsAtEveryLength) {
  auto req = header(9, "client-id");
  req.insert(req.end(), {1, 0, 3, 'a', 'b', 'c', 3, 't', 'x'});
  put16(req, 1);
  ASSERT_TRUE(peek_produce_acks(req, 9).ok());
  for (size_t len = 0; len < req.size(); ++len) {
    auto acks = peek_produce_acks(std::span<const uint8_t>(req.data(), len), 9);
    EXPECT_FALSE(acks.ok()) << "length " << len;
  }
}

TEST(ProduceAcks, LengthsPastTheEndAreErrors) {
  auto req = header(3, "c");
  put16(req, 1000);  // transactional id claims 1000 bytes
  put16(req, 1);
  EXPECT_FALSE(peek_produce_acks(req, 3).ok());

  auto flexible = header(9, "c");
  flexible.insert(flexible.end(), {1, 0, 0x7f});  // a tagged field of 127 bytes, absent
  EXPECT_FALSE(peek_produce_acks(flexible, 9).ok());
}

}  // namespace
}  // namespace kenc::proxy
