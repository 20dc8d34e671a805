// The gRPC service in-process (plaintext loopback) in front of a KMS that misbehaves on demand:
// how KMS failures and slowness reach the caller.
#include "keybroker/server/key_broker_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <future>
#include <thread>

#include "kenc/keybroker/v1/keybroker.grpc.pb.h"
#include "keybroker/kms/local/local_kms.h"
#include "keybroker/server/grpc_server.h"
#include "proto/kenc/keybroker/v1/wiped_key_messages.h"
#include "proxy/keybroker_client/keybroker_client.h"
#include "tests/unit/keybroker/temp_dir.h"

namespace kenc::keybroker::server {
namespace {

using namespace std::chrono_literals;
using proxy::keybroker_client::DekLease;
using proxy::keybroker_client::KeyBrokerClient;

// The real local KMS, except that it can be made to hang or to report itself unreachable.
class FlakyKms final : public kms::Kms {
 public:
  explicit FlakyKms(kms::Kms& inner) : inner_(inner) {}
  std::string name() const override { return "flaky"; }
  Result<kms::KekInfo> describe_kek(const std::string& id) override {
    if (auto e = failure()) {
      return *e;
    }
    return inner_.describe_kek(id);
  }
  Result<kms::GeneratedDek> generate_dek(const std::string& id) override {
    if (auto e = failure()) {
      return *e;
    }
    return inner_.generate_dek(id);
  }
  Result<crypto::SecureBytes> unwrap_dek(const std::string& id, uint32_t v,
                                         std::span<const uint8_t> w) override {
    if (auto e = failure()) {
      return *e;
    }
    return inner_.unwrap_dek(id, v, w);
  }
  Status health() override {
    if (auto e = failure()) {
      return *e;
    }
    return Status::Ok();
  }

  std::atomic<bool> down{false};
  std::atomic<int> hang_ms{0};

 private:
  std::optional<Error> failure() {
    std::this_thread::sleep_for(std::chrono::milliseconds(hang_ms.load()));
    if (down) {
      return make_error(ErrorCode::kUnavailable, "connection refused");
    }
    return std::nullopt;
  }
  kms::Kms& inner_;
};

class KeyBrokerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    local_ = std::move(kms::LocalKms::open({dir_.path() / "keks.json", false}).value());
    ASSERT_TRUE(local_->create_kek("orders").ok());
    flaky_ = std::make_unique<FlakyKms>(*local_);
    config_.listen = "127.0.0.1:0";
    config_.insecure_plaintext_for_development = true;
    config_.default_deadline = 5s;
    config_.policy = auth::Policy({auth::Rule{
        {KeyBrokerService::kPlaintextIdentity},
        {"*"},
        {auth::Operation::kLease, auth::Operation::kUnwrap, auth::Operation::kResolve}}});
    audit_ = std::move(audit::AuditLog::open((dir_.path() / "audit.jsonl").string()).value());
    deks_ = std::make_unique<dek::DekManager>(*flaky_, config_.deks);
    service_ = std::make_unique<KeyBrokerService>(config_, *deks_, *audit_);
    server_ = start_grpc_server(config_, *service_, &port_);
    client_ = make_client(500ms);
  }

  std::unique_ptr<KeyBrokerClient> make_client(std::chrono::milliseconds deadline) {
    proxy::keybroker_client::KeyBrokerClientOptions options;
    options.target = "127.0.0.1:" + std::to_string(port_);
    options.insecure_plaintext_for_development = true;
    options.deadline = deadline;
    return std::move(KeyBrokerClient::create(options).value());
  }
  void TearDown() override {
    client_.reset();
    server_->Shutdown(std::chrono::system_clock::now() + 1s);
  }

  Result<DekLease> lease(const std::string& alias) {
    std::promise<Result<DekLease>> p;
    client_->lease_dek(alias, "t", 0, [&](Result<DekLease> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  testing::TempDir dir_;
  std::unique_ptr<kms::LocalKms> local_;
  std::unique_ptr<FlakyKms> flaky_;
  config::KeybrokerConfig config_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<dek::DekManager> deks_;
  std::unique_ptr<KeyBrokerService> service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<KeyBrokerClient> client_;
};

TEST_F(KeyBrokerServiceTest, UnknownKekIsNotFound) {
  auto r = lease("nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound) << r.error().to_string();
}

TEST_F(KeyBrokerServiceTest, AnUnreachableKmsIsUnavailable) {
  flaky_->down = true;
  auto r = lease("orders");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
  flaky_->down = false;
  EXPECT_TRUE(lease("orders").ok());
}

TEST_F(KeyBrokerServiceTest, AHungKmsIsUnavailableWithinTheCallersDeadline) {
  flaky_->hang_ms = 1500;
  auto r = lease("orders");
  ASSERT_FALSE(r.ok());
  // Not the client's own DEADLINE_EXCEEDED: the broker answered before the 500 ms deadline,
  // while the KMS call was still running, and said why.
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().to_string();
  EXPECT_NE(r.error().message.find("did not answer in time"), std::string::npos);
  flaky_->hang_ms = 0;
}

TEST_F(KeyBrokerServiceTest, ClientCallsReturnAtOnceAndCallBackOnAGrpcThread) {
  // Slow KMS: every one of the calls below is still in flight when the loop ends.
  flaky_->hang_ms = 300;
  client_ = make_client(10s);
  constexpr int kCalls = 200;
  const auto caller = std::this_thread::get_id();
  std::atomic<int> done{0}, ok{0}, on_caller_thread{0};
  std::atomic<int> finished_while_issuing{0};
  for (int i = 0; i < kCalls; ++i) {
    client_->lease_dek("orders", "t", 0, [&](Result<DekLease> r) {
      if (r.ok()) {
        ++ok;
      }
      if (std::this_thread::get_id() == caller) {
        ++on_caller_thread;
      }
      ++done;
    });
  }
  finished_while_issuing = done.load();
  // Destroying the client waits for every callback.
  client_.reset();
  EXPECT_EQ(finished_while_issuing.load(), 0);
  EXPECT_EQ(done.load(), kCalls);
  EXPECT_EQ(ok.load(), kCalls);
  EXPECT_EQ(on_caller_thread.load(), 0);
  // All 200 leases shared one generate_dek.
  EXPECT_EQ(deks_->stats().kms_generate_calls, 1u);
  flaky_->hang_ms = 0;
}

TEST_F(KeyBrokerServiceTest, OversizedAndMalformedEdeksAreRefused) {
  auto unwrap = [&](const std::vector<uint8_t>& edek) {
    std::promise<Result<proxy::keybroker_client::UnwrappedDek>> p;
    client_->unwrap_dek(edek, "t", [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  auto huge = unwrap(std::vector<uint8_t>(size_t{100} * 1024, 7));
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("larger than max"), std::string::npos)
      << huge.error().to_string();
  // Claims a 200-byte KEK id in 3 bytes.
  auto truncated = unwrap({200, 'a', 'b'});
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code, ErrorCode::kInvalidArgument) << truncated.error().to_string();
  EXPECT_TRUE(lease("orders").ok());  // and the broker carries on
}

// The service registers its methods by hand (wiped response buffers) and the proxy's client
// calls without the generated stub; any client generated from the .proto must still work.
TEST_F(KeyBrokerServiceTest, TheGeneratedStubOfTheProtoWorksAgainstTheService) {
  auto stub = v1::KeyBroker::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                                         grpc::InsecureChannelCredentials()));
  v1::LeaseDekRequest lease_request;
  lease_request.set_kek_alias("orders");
  lease_request.set_topic("t");
  v1::LeaseDekResponse leased;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    ASSERT_TRUE(stub->LeaseDek(&context, lease_request, &leased).ok());
  }
  EXPECT_EQ(leased.dek().size(), 32u);
  EXPECT_FALSE(leased.edek().empty());
  EXPECT_EQ(leased.kek_id(), "orders");

  v1::UnwrapDekRequest unwrap_request;
  unwrap_request.set_edek(leased.edek());
  v1::UnwrapDekResponse unwrapped;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    ASSERT_TRUE(stub->UnwrapDek(&context, unwrap_request, &unwrapped).ok());
  }
  EXPECT_EQ(unwrapped.dek(), leased.dek());
  EXPECT_EQ(unwrapped.dek_id(), leased.dek_id());

  v1::ResolveAliasRequest resolve_request;
  resolve_request.set_kek_alias("orders");
  v1::ResolveAliasResponse resolved;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->ResolveAlias(&context, resolve_request, &resolved).ok());
  EXPECT_EQ(resolved.kek_id(), "orders");
}

// And the proxy's client unwraps what it leased (both DEK-carrying responses through the wiped
// buffers on both sides).
TEST_F(KeyBrokerServiceTest, TheClientUnwrapsWhatItLeased) {
  const uint64_t wiped_before = v1::wiped_buffer_bytes_total();
  const uint64_t received_wiped_before = v1::wiped_received_bytes_total();
  auto leased = lease("orders");
  ASSERT_TRUE(leased.ok()) << leased.error().to_string();
  std::promise<Result<proxy::keybroker_client::UnwrappedDek>> p;
  client_->unwrap_dek(leased->edek, "t", [&](auto r) { p.set_value(std::move(r)); });
  auto unwrapped = p.get_future().get();
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.error().to_string();
  EXPECT_EQ(unwrapped->dek_id, leased->dek_id);
  EXPECT_TRUE(std::equal(unwrapped->dek.view().begin(), unwrapped->dek.view().end(),
                         leased->dek.view().begin(), leased->dek.view().end()));
  // The service sent both responses from wiped buffers: at least the two DEK fields (tag,
  // length, 32 bytes) went through them. gRPC drops a buffer once its write completed, which
  // may be just after the client has the response.
  const uint64_t two_dek_fields = 2 * (2 + 32);
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (v1::wiped_buffer_bytes_total() - wiped_before < two_dek_fields &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_GE(v1::wiped_buffer_bytes_total() - wiped_before, two_dek_fields);
  // And the client parsed both through the wiping deserializer (before its callbacks ran).
  EXPECT_GE(v1::wiped_received_bytes_total() - received_wiped_before, two_dek_fields);
}

TEST_F(KeyBrokerServiceTest, ErrorCodesMapToGrpc) {
  EXPECT_EQ(grpc_code_for(ErrorCode::kNotFound), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(grpc_code_for(ErrorCode::kUnavailable), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(grpc_code_for(ErrorCode::kDeadlineExceeded), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(grpc_code_for(ErrorCode::kPermissionDenied), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(grpc_code_for(ErrorCode::kDataLoss), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(grpc_code_for(ErrorCode::kInvalidArgument), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace kenc::keybroker::server
