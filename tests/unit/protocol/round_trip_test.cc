// Round-trip tests over every generated message at every valid version: encode a populated
// value, decode it, re-encode and compare bytes; every strict prefix must fail cleanly; with
// trailing bytes the decoder must stop exactly at the message end.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/kafka/protocol/api_table.h"
#include "common/kafka/protocol/dispatch.h"
#include "tests/unit/protocol/message_samples.h"

namespace kenc::kafka {
namespace {

struct Case {
  const ApiInfo* api;
  MessageKind kind;
  int16_t version;
  int seed;
};

std::string case_name(const Case& c) {
  return std::string(c.api->name) + (c.kind == MessageKind::kRequest ? "Request" : "Response") +
         " v" + std::to_string(c.version) + " seed " + std::to_string(c.seed);
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const ApiInfo& api : all_apis()) {
    for (MessageKind kind : {MessageKind::kRequest, MessageKind::kResponse}) {
      for (int16_t v = api.lowest_version; v <= api.highest_version; ++v) {
        for (int seed : {0, 1}) {
          cases.push_back(Case{&api, kind, v, seed});
        }
      }
    }
  }
  return cases;
}

std::vector<uint8_t> encode_sample(const Case& c) {
  std::unique_ptr<Message> m = create_message(c.api->api_key, c.kind);
  EXPECT_NE(m, nullptr) << case_name(c);
  if (!m) {
    return {};
  }
  testing::fill_sample_message(*m, c.version, c.seed);
  Result<std::vector<uint8_t>> bytes = m->encode(c.version);
  EXPECT_TRUE(bytes.ok()) << case_name(c) << ": " << bytes.error().to_string();
  if (!bytes.ok()) {
    return {};
  }
  EXPECT_EQ(m->encoded_size(c.version), bytes->size()) << case_name(c);
  return *bytes;
}

TEST(RoundTripTest, CoversEveryApiKeyAndVersion) {
  size_t pairs = 0;
  for (const ApiInfo& api : all_apis()) {
    pairs += static_cast<size_t>(api.highest_version - api.lowest_version + 1);
  }
  EXPECT_GT(all_apis().size(), 80u);
  EXPECT_EQ(all_cases().size(), pairs * 2 * 2);
}

TEST(RoundTripTest, EncodeDecodeEncodeIsByteExact) {
  for (const Case& c : all_cases()) {
    std::vector<uint8_t> bytes = encode_sample(c);
    ASSERT_FALSE(HasFailure()) << case_name(c);
    std::unique_ptr<Message> original = create_message(c.api->api_key, c.kind);
    testing::fill_sample_message(*original, c.version, c.seed);

    Reader reader{SharedBytes(bytes)};
    Result<std::unique_ptr<Message>> decoded =
        decode_message(c.api->api_key, c.kind, c.version, reader);
    ASSERT_TRUE(decoded.ok()) << case_name(c) << ": " << decoded.error().to_string();
    EXPECT_EQ(reader.position(), bytes.size()) << case_name(c);
    EXPECT_TRUE((*decoded)->equals(*original)) << case_name(c);

    Result<std::vector<uint8_t>> again = (*decoded)->encode(c.version);
    ASSERT_TRUE(again.ok()) << case_name(c);
    EXPECT_EQ(*again, bytes) << case_name(c);
  }
}

TEST(RoundTripTest, EveryStrictPrefixFailsCleanly) {
  for (const Case& c : all_cases()) {
    std::vector<uint8_t> bytes = encode_sample(c);
    for (size_t length = 0; length < bytes.size(); ++length) {
      // A buffer of exactly `length` bytes, so ASan catches any read past its end.
      Reader reader{SharedBytes(std::vector<uint8_t>(bytes.begin(), bytes.begin() + length))};
      Result<std::unique_ptr<Message>> decoded =
          decode_message(c.api->api_key, c.kind, c.version, reader);
      ASSERT_FALSE(decoded.ok()) << case_name(c) << " prefix " << length;
      EXPECT_EQ(decoded.error().code, ErrorCode::kOutOfRange)
          << case_name(c) << " prefix " << length << ": " << decoded.error().to_string();
    }
  }
}

TEST(RoundTripTest, DecoderStopsAtTheMessageEnd) {
  for (const Case& c : all_cases()) {
    std::vector<uint8_t> bytes = encode_sample(c);
    std::vector<uint8_t> with_garbage = bytes;
    with_garbage.insert(with_garbage.end(), {0xFF, 0x00, 0x7F, 0x80, 0x01});
    Reader reader{SharedBytes(with_garbage)};
    Result<std::unique_ptr<Message>> decoded =
        decode_message(c.api->api_key, c.kind, c.version, reader);
    ASSERT_TRUE(decoded.ok()) << case_name(c) << ": " << decoded.error().to_string();
    EXPECT_EQ(reader.position(), bytes.size()) << case_name(c);
    EXPECT_EQ(reader.remaining(), 5u) << case_name(c);
  }
}

TEST(RoundTripTest, InvalidVersionsAreRejected) {
  for (const ApiInfo& api : all_apis()) {
    for (MessageKind kind : {MessageKind::kRequest, MessageKind::kResponse}) {
      for (int16_t version : {static_cast<int16_t>(api.lowest_version - 1),
                              static_cast<int16_t>(api.highest_version + 1)}) {
        std::vector<uint8_t> bytes(64, 0);
        Reader reader{SharedBytes(bytes)};
        Result<std::unique_ptr<Message>> decoded =
            decode_message(api.api_key, kind, version, reader);
        ASSERT_FALSE(decoded.ok()) << api.name << " v" << version;
        EXPECT_EQ(decoded.error().code, ErrorCode::kUnsupported);
        EXPECT_EQ(reader.position(), 0u);
      }
    }
  }
}

}  // namespace
}  // namespace kenc::kafka
