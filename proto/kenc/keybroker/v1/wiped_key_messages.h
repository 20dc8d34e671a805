#pragma once

// The key broker's two responses that carry a plaintext DEK, sent and received through buffers
// that are wiped.
//
// gRPC's generated stubs and handlers serialize every protobuf message through its MessageLite
// base, into buffers that gRPC frees without wiping, and destroy the response message (its `dek`
// string included) without wiping it either. The key broker's handlers and the proxy's client
// therefore call these two methods with the wrapper below in place of the generated response
// type: gRPC picks its SerializationTraits specialization (at the end of this file), which
//   - on the key broker, serializes into one buffer of our own that is wiped when gRPC's
//     transport drops it (after the bytes went into the TLS layer), and
//   - on the proxy, parses the received bytes and then wipes them in gRPC's receive buffers,
// and the wrapper wipes the message's `dek` when it is destroyed. Copies inside the TLS layer's
// own record buffers stay out of reach (docs/security.md).
//
// Registering and calling a method with a response type of our choosing goes through
// grpc::internal (RpcMethodHandler, CallbackUnaryCall): the API the generated code itself is
// written against, so it moves with gRPC releases as that code does; keybroker_service_unit_tests
// exercise both sides and a generated client against the service.

#include <grpcpp/impl/codegen/proto_utils.h>  // the traits of the other, plain messages
#include <grpcpp/impl/serialization_traits.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <string>

#include "kenc/keybroker/v1/keybroker.pb.h"

namespace kenc::keybroker::v1 {

// Full gRPC method names ("/package.Service/Method") for the calls and handlers registered
// without the generated stubs (tests/unit/keybroker check them against the .proto).
inline constexpr char kLeaseDekMethod[] = "/kenc.keybroker.v1.KeyBroker/LeaseDek";
inline constexpr char kUnwrapDekMethod[] = "/kenc.keybroker.v1.KeyBroker/UnwrapDek";
inline constexpr char kResolveAliasMethod[] = "/kenc.keybroker.v1.KeyBroker/ResolveAlias";

// Overwrites the string's bytes (OPENSSL_cleanse) and empties it.
void wipe_string(std::string* s);

// Serializes `message` into a single buffer owned by `out`, wiped when its last reference goes.
grpc::Status serialize_into_wiped_buffer(const google::protobuf::MessageLite& message,
                                         grpc::ByteBuffer* out);

// Bytes of such buffers wiped so far in this process (for tests: the wipe happens inside gRPC).
uint64_t wiped_buffer_bytes_total();

// Parses `in` into `message`, then overwrites the bytes of every slice of `in` and clears it.
// Only for received buffers (their slices are writable heap memory): gRPC considers slices
// immutable, but nothing reads a received message's bytes once it has been parsed. A piece of
// fewer than 24 bytes that gRPC inlined into its slice handle is copied out by Dump() and cannot
// be reached.
grpc::Status parse_and_wipe(grpc::ByteBuffer* in, google::protobuf::MessageLite* message);

// Received bytes parse_and_wipe() has wiped so far in this process (for tests).
uint64_t wiped_received_bytes_total();

// A response message carrying a plaintext DEK in its `dek` field.
template <typename Message>
struct WipedKeyMessage {
  Message message;

  WipedKeyMessage() = default;
  WipedKeyMessage(const WipedKeyMessage&) = delete;
  WipedKeyMessage& operator=(const WipedKeyMessage&) = delete;
  ~WipedKeyMessage() { wipe_string(message.mutable_dek()); }
};

using WipedLeaseDekResponse = WipedKeyMessage<LeaseDekResponse>;
using WipedUnwrapDekResponse = WipedKeyMessage<UnwrapDekResponse>;

}  // namespace kenc::keybroker::v1

namespace grpc {

template <typename Message>
class SerializationTraits<kenc::keybroker::v1::WipedKeyMessage<Message>, void> {
 public:
  static Status Serialize(const kenc::keybroker::v1::WipedKeyMessage<Message>& m, ByteBuffer* out,
                          bool* own_buffer) {
    *own_buffer = true;
    return kenc::keybroker::v1::serialize_into_wiped_buffer(m.message, out);
  }
  static Status Deserialize(ByteBuffer* in, kenc::keybroker::v1::WipedKeyMessage<Message>* m) {
    return kenc::keybroker::v1::parse_and_wipe(in, &m->message);
  }
};

}  // namespace grpc
