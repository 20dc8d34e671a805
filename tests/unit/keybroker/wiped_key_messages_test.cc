#include "proto/kenc/keybroker/v1/wiped_key_messages.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/support/slice.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace v1 = kenc::keybroker::v1;

namespace {

using Traits = grpc::SerializationTraits<v1::WipedLeaseDekResponse>;

std::string key_bytes() { return std::string(32, '\xab'); }

void fill(v1::LeaseDekResponse& r) {
  r.set_dek_id(std::string(16, '\x01'));
  r.set_dek(key_bytes());
  r.set_edek(std::string(90, '\x02'));
  r.set_lease_number(7);
  r.set_encryption_budget(1000);
  r.set_kek_id("orders");
}

std::vector<uint8_t> bytes_of(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::vector<uint8_t> out;
  for (const auto& s : slices) {
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}

bool all_zero(const std::vector<uint8_t>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

void no_destroy(void* /*user_data*/) {}

// A received buffer whose slices point into `pieces` (which the test then inspects).
grpc::ByteBuffer received(std::vector<std::vector<uint8_t>>& pieces) {
  std::vector<grpc::Slice> slices;
  for (auto& piece : pieces) {
    slices.emplace_back(piece.data(), piece.size(), &no_destroy, nullptr);
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

TEST(WipedKeyMessages, MethodNamesAreThoseOfTheProto) {
  const auto* service = v1::LeaseDekRequest::descriptor()->file()->FindServiceByName("KeyBroker");
  ASSERT_NE(service, nullptr);
  auto name = [&](const char* method) {
    return "/" + service->full_name() + "/" + service->FindMethodByName(method)->name();
  };
  EXPECT_EQ(name("LeaseDek"), v1::kLeaseDekMethod);
  EXPECT_EQ(name("UnwrapDek"), v1::kUnwrapDekMethod);
  EXPECT_EQ(name("ResolveAlias"), v1::kResolveAliasMethod);
  EXPECT_EQ(service->method_count(), 3);
}

TEST(WipedKeyMessages, SerializesTheProtoWireFormatIntoABufferWipedWhenDropped) {
  v1::WipedLeaseDekResponse response;
  fill(response.message);
  const std::string expected = response.message.SerializeAsString();
  const uint64_t wiped_before = v1::wiped_buffer_bytes_total();
  {
    grpc::ByteBuffer buffer;
    bool own_buffer = false;
    ASSERT_TRUE(Traits::Serialize(response, &buffer, &own_buffer).ok());
    EXPECT_TRUE(own_buffer);
    const std::vector<uint8_t> bytes = bytes_of(buffer);
    EXPECT_EQ(std::string(bytes.begin(), bytes.end()), expected);
    EXPECT_EQ(v1::wiped_buffer_bytes_total(), wiped_before);  // still referenced
  }
  // The last reference went with the ByteBuffer: the destroy function wiped every byte.
  EXPECT_EQ(v1::wiped_buffer_bytes_total() - wiped_before, expected.size());
}

TEST(WipedKeyMessages, ParsesAReceivedMessageAndWipesItsBytes) {
  v1::LeaseDekResponse sent;
  fill(sent);
  const std::string wire = sent.SerializeAsString();
  std::vector<std::vector<uint8_t>> pieces{{wire.begin(), wire.end()}};
  grpc::ByteBuffer buffer = received(pieces);

  v1::WipedLeaseDekResponse response;
  const uint64_t wiped_before = v1::wiped_received_bytes_total();
  ASSERT_TRUE(Traits::Deserialize(&buffer, &response).ok());
  EXPECT_EQ(v1::wiped_received_bytes_total() - wiped_before, wire.size());
  EXPECT_EQ(response.message.dek(), key_bytes());
  EXPECT_EQ(response.message.edek(), sent.edek());
  EXPECT_EQ(response.message.lease_number(), 7u);
  EXPECT_TRUE(all_zero(pieces[0]));
  EXPECT_EQ(buffer.Length(), 0u);
}

TEST(WipedKeyMessages, AMessageInSeveralSlicesIsJoinedAndEverySliceWiped) {
  v1::LeaseDekResponse sent;
  fill(sent);
  const std::string wire = sent.SerializeAsString();
  // Cut through the middle of the DEK (slices of at least 24 bytes are not inlined by gRPC).
  const size_t cut1 = 30;
  const size_t cut2 = 60;
  std::vector<std::vector<uint8_t>> pieces{{wire.begin(), wire.begin() + cut1},
                                           {wire.begin() + cut1, wire.begin() + cut2},
                                           {wire.begin() + cut2, wire.end()}};
  grpc::ByteBuffer buffer = received(pieces);

  v1::WipedLeaseDekResponse response;
  ASSERT_TRUE(Traits::Deserialize(&buffer, &response).ok());
  EXPECT_EQ(response.message.dek(), key_bytes());
  EXPECT_EQ(response.message.SerializeAsString(), wire);
  for (const auto& piece : pieces) {
    EXPECT_TRUE(all_zero(piece));
  }
}

TEST(WipedKeyMessages, BytesThatDoNotParseAreAnErrorAndStillWiped) {
  // Field 2 (dek) declared 200 bytes long with only 40 present.
  std::vector<uint8_t> bad{0x12, 0xc8, 0x01};
  bad.resize(43, 0xab);
  std::vector<std::vector<uint8_t>> pieces{bad};
  grpc::ByteBuffer buffer = received(pieces);

  v1::WipedLeaseDekResponse response;
  const grpc::Status status = Traits::Deserialize(&buffer, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_TRUE(all_zero(pieces[0]));
}

TEST(WipedKeyMessages, WipeStringOverwritesAndEmpties) {
  std::string s = key_bytes();
  const char* data = s.data();
  const size_t size = s.size();
  v1::wipe_string(&s);
  EXPECT_TRUE(s.empty());
  // clear() keeps the allocation, so the old bytes can still be looked at.
  EXPECT_EQ(s.data(), data);
  EXPECT_TRUE(std::all_of(data, data + size, [](char c) { return c == 0; }));
}

}  // namespace
