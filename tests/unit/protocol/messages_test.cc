// Behaviour of specific generated messages: wire bytes checked by hand, zero-copy records,
// tagged fields, ignorable and unsupported fields.
#include <gtest/gtest.h>

#include <vector>

#include "common/kafka/protocol/dispatch.h"
#include "common/kafka/protocol/generated/api_versions_request.h"
#include "common/kafka/protocol/generated/fetch_response.h"
#include "common/kafka/protocol/generated/produce_request.h"

namespace kenc::kafka {
namespace {

TEST(MessagesTest, ApiVersionsRequestV3MatchesTheSpecByHand) {
  const std::vector<uint8_t> wire = {5, 'k', 'e', 'n', 'c', 4, '1', '.', '0', 0};
  Reader r{SharedBytes(wire)};
  ApiVersionsRequest req;
  ASSERT_TRUE(req.decode(r, 3).ok());
  EXPECT_EQ(req.client_software_name, "kenc");
  EXPECT_EQ(req.client_software_version, "1.0");
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(*req.encode(3), wire);
  // v0-2 have no body at all.
  EXPECT_EQ(req.encoded_size(2), 0u + 0u);
}

TEST(MessagesTest, ProduceRecordsPointIntoTheFrame) {
  ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = 30000;
  auto& topic = req.topic_data.emplace_back();
  topic.name = "orders";
  auto& partition = topic.partition_data.emplace_back();
  partition.index = 4;
  partition.records = SharedBytes(std::vector<uint8_t>{1, 2, 3, 4, 5});
  std::vector<uint8_t> bytes = *req.encode(9);

  SharedBytes frame(bytes);
  Reader r(frame);
  ProduceRequest back;
  ASSERT_TRUE(back.decode(r, 9).ok());
  ASSERT_TRUE(back.topic_data.at(0).partition_data.at(0).records.has_value());
  const SharedBytes& records = *back.topic_data[0].partition_data[0].records;
  EXPECT_GE(records.data(), frame.data());
  EXPECT_LE(records.data() + records.size(), frame.data() + frame.size());
  EXPECT_EQ(std::vector<uint8_t>(records.view().begin(), records.view().end()),
            (std::vector<uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(back, req);
}

TEST(MessagesTest, IgnorableFieldsAreDroppedInVersionsWithoutThem) {
  ProduceRequest req;
  auto& topic = req.topic_data.emplace_back();
  topic.name = "orders";  // v0-12 only, ignorable
  topic.topic_id[0] = 1;  // v13+ only, ignorable
  ASSERT_TRUE(req.encode(13).ok());
  ASSERT_TRUE(req.encode(12).ok());
  ProduceRequest back;
  Reader r{SharedBytes(*req.encode(13))};
  ASSERT_TRUE(back.decode(r, 13).ok());
  EXPECT_TRUE(back.topic_data.at(0).name.empty());
  EXPECT_EQ(back.topic_data[0].topic_id, topic.topic_id);
}

TEST(MessagesTest, NonIgnorableFieldMissingFromTheVersionIsAnError) {
  FetchResponse resp;
  auto& partition = resp.responses.emplace_back().partitions.emplace_back();
  partition.preferred_read_replica = 2;  // v11+, not ignorable
  Result<std::vector<uint8_t>> bytes = resp.encode(10);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(resp.encode(11).ok());
}

TEST(MessagesTest, KnownAndUnknownTaggedFieldsSurviveARoundTrip) {
  FetchResponse resp;
  auto& partition = resp.responses.emplace_back().partitions.emplace_back();
  partition.current_leader.leader_id = 3;  // tag 1
  partition.current_leader.leader_epoch = 9;
  partition.unknown_tagged_fields = {{0xFFFF, {0xDE, 0xAD}}};
  std::vector<uint8_t> bytes = *resp.encode(16);
  Reader r{SharedBytes(bytes)};
  FetchResponse back;
  ASSERT_TRUE(back.decode(r, 16).ok());
  EXPECT_EQ(back, resp);
  EXPECT_EQ(*back.encode(16), bytes);
  // A default-valued tagged field is not written: only the unknown one appears.
  partition.current_leader = {};
  EXPECT_EQ(resp.encoded_size(16), bytes.size() - 1 - 1 - 8 - 1);
}

TEST(MessagesTest, MessageCastRecoversTheConcreteType) {
  std::unique_ptr<Message> m = create_message(ProduceRequest::kApiKey, MessageKind::kRequest);
  ASSERT_NE(message_cast<ProduceRequest>(*m), nullptr);
  EXPECT_EQ(message_cast<FetchResponse>(*m), nullptr);
}

}  // namespace
}  // namespace kenc::kafka
