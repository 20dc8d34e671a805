#include "proto/kenc/keybroker/v1/wiped_key_messages.h"

#include <grpcpp/support/slice.h>
#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <vector>

namespace kenc::keybroker::v1 {
namespace {

std::atomic<uint64_t> wiped_bytes{0};
std::atomic<uint64_t> wiped_received_bytes{0};

// A slice's destroy function: runs when gRPC drops the last reference to the buffer.
void wipe_and_free(void* buffer, size_t size) {
  OPENSSL_cleanse(buffer, size);
  wiped_bytes.fetch_add(size, std::memory_order_relaxed);
  std::free(buffer);  // NOLINT(cppcoreguidelines-no-malloc): gRPC hands back a raw buffer
}

}  // namespace

void wipe_string(std::string* s) {
  OPENSSL_cleanse(s->data(), s->size());
  s->clear();
}

uint64_t wiped_buffer_bytes_total() { return wiped_bytes.load(std::memory_order_relaxed); }

uint64_t wiped_received_bytes_total() {
  return wiped_received_bytes.load(std::memory_order_relaxed);
}

grpc::Status serialize_into_wiped_buffer(const google::protobuf::MessageLite& message,
                                         grpc::ByteBuffer* out) {
  const size_t size = message.ByteSizeLong();
  // NOLINTNEXTLINE(cppcoreguidelines-no-malloc): freed by wipe_and_free, from gRPC
  void* buffer = std::malloc(size == 0 ? 1 : size);
  if (buffer == nullptr) {
    return {grpc::StatusCode::RESOURCE_EXHAUSTED, "cannot allocate a response buffer"};
  }
  if (!message.SerializeToArray(buffer, static_cast<int>(size))) {
    wipe_and_free(buffer, size);
    return {grpc::StatusCode::INTERNAL, "cannot serialize the response"};
  }
  grpc::Slice slice(buffer, size, &wipe_and_free);
  grpc::ByteBuffer serialized(&slice, 1);
  out->Swap(&serialized);
  return grpc::Status::OK;
}

grpc::Status parse_and_wipe(grpc::ByteBuffer* in, google::protobuf::MessageLite* message) {
  std::vector<grpc::Slice> slices;
  if (!in->Dump(&slices).ok()) {
    return {grpc::StatusCode::INTERNAL, "no message in the response"};
  }
  bool parsed = false;
  if (slices.size() == 1) {
    parsed = message->ParseFromArray(slices[0].begin(), static_cast<int>(slices[0].size()));
  } else {
    std::string joined;
    joined.reserve(in->Length());
    for (const auto& slice : slices) {
      joined.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    parsed = message->ParseFromString(joined);
    wipe_string(&joined);
  }
  for (auto& slice : slices) {
    OPENSSL_cleanse(const_cast<uint8_t*>(slice.begin()), slice.size());
    wiped_received_bytes.fetch_add(slice.size(), std::memory_order_relaxed);
  }
  slices.clear();
  in->Clear();
  if (!parsed) {
    return {grpc::StatusCode::INTERNAL, "cannot parse the key broker's response"};
  }
  return grpc::Status::OK;
}

}  // namespace kenc::keybroker::v1
