#include "proxy/keybroker_client/keybroker_client.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_callback.h>
#include <openssl/crypto.h>

#include <fstream>
#include <sstream>

#include "kenc/keybroker/v1/keybroker.pb.h"
#include "proto/kenc/keybroker/v1/wiped_key_messages.h"

namespace kenc::proxy::keybroker_client {
namespace {

namespace v1 = kenc::keybroker::v1;

Result<std::string> read_file(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  if (in) {
    buffer << in.rdbuf();
  }
  if (!in || buffer.str().empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "key broker client: cannot read " + what + " '" + path + "'");
  }
  return buffer.str();
}

Error from_grpc(const grpc::Status& status) {
  ErrorCode code = ErrorCode::kInternal;
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      code = ErrorCode::kNotFound;
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      code = ErrorCode::kPermissionDenied;
      break;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      code = ErrorCode::kUnavailable;
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      code = ErrorCode::kDeadlineExceeded;
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
      code = ErrorCode::kInvalidArgument;
      break;
    case grpc::StatusCode::DATA_LOSS:
      code = ErrorCode::kDataLoss;
      break;
    default:
      break;
  }
  return make_error(code, "key broker: " + status.error_message());
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// Moves a key out of a protobuf string into SecureBytes and wipes the string.
crypto::SecureBytes take_key(std::string* s) {
  crypto::SecureBytes key({reinterpret_cast<const uint8_t*>(s->data()), s->size()});
  OPENSSL_cleanse(s->data(), s->size());
  s->clear();
  return key;
}

}  // namespace

// Calls are made without the generated stub so that the DEK-carrying responses are received
// into wiped buffers (proto/kenc/keybroker/v1/wiped_key_messages.h).
struct KeyBrokerClient::Impl {
  explicit Impl(std::shared_ptr<grpc::Channel> c)
      : channel(std::move(c)),
        lease_method(v1::kLeaseDekMethod, grpc::internal::RpcMethod::NORMAL_RPC, channel),
        unwrap_method(v1::kUnwrapDekMethod, grpc::internal::RpcMethod::NORMAL_RPC, channel),
        resolve_method(v1::kResolveAliasMethod, grpc::internal::RpcMethod::NORMAL_RPC, channel) {}

  std::shared_ptr<grpc::Channel> channel;
  const grpc::internal::RpcMethod lease_method;
  const grpc::internal::RpcMethod unwrap_method;
  const grpc::internal::RpcMethod resolve_method;
  std::chrono::milliseconds deadline{};
  bool wait_for_ready = true;
  std::mutex mu;
  std::condition_variable idle;
  size_t outstanding = 0;

  // One call in flight: owns its context, request and response until the callback has run.
  template <typename Request, typename Response>
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
  };

  template <typename Request, typename Response, typename Start, typename Finish>
  void start(std::unique_ptr<Call<Request, Response>> call, Start start_call, Finish finish) {
    call->context.set_deadline(std::chrono::system_clock::now() + deadline);
    call->context.set_wait_for_ready(wait_for_ready);
    {
      std::lock_guard lock(mu);
      ++outstanding;
    }
    auto* raw = call.release();
    start_call(raw, [this, raw, finish = std::move(finish)](grpc::Status status) mutable {
      std::unique_ptr<Call<Request, Response>> owned(raw);
      finish(status, owned->response);
      owned.reset();
      std::lock_guard lock(mu);
      if (--outstanding == 0) {
        idle.notify_all();
      }
    });
  }
};

KeyBrokerClient::KeyBrokerClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KeyBrokerClient::~KeyBrokerClient() {
  std::unique_lock lock(impl_->mu);
  impl_->idle.wait(lock, [this] { return impl_->outstanding == 0; });
}

Result<std::unique_ptr<KeyBrokerClient>> KeyBrokerClient::create(
    const KeyBrokerClientOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.insecure_plaintext_for_development) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    auto ca = read_file("CA file", options.ca_file);
    if (!ca) {
      return ca.error();
    }
    ssl.pem_root_certs = std::move(ca.value());
    // A certificate is optional here so that tests can show the broker refusing its absence.
    if (!options.cert_file.empty() || !options.key_file.empty()) {
      auto cert = read_file("certificate file", options.cert_file);
      if (!cert) {
        return cert.error();
      }
      auto key = read_file("private key file", options.key_file);
      if (!key) {
        return key.error();
      }
      ssl.pem_cert_chain = std::move(cert.value());
      ssl.pem_private_key = std::move(key.value());
    }
    credentials = grpc::SslCredentials(ssl);
    OPENSSL_cleanse(ssl.pem_private_key.data(), ssl.pem_private_key.size());
  }
  grpc::ChannelArguments args;
  if (!options.server_name_override.empty()) {
    args.SetSslTargetNameOverride(options.server_name_override);
  }
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(options.max_reconnect_backoff.count()));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  auto channel = grpc::CreateCustomChannel(options.target, credentials, args);
  auto impl = std::make_unique<Impl>(std::move(channel));
  impl->deadline = options.deadline;
  impl->wait_for_ready = options.wait_for_ready;
  return std::unique_ptr<KeyBrokerClient>(new KeyBrokerClient(std::move(impl)));
}

void KeyBrokerClient::lease_dek(const std::string& kek_alias, const std::string& topic,
                                uint64_t requested_encryptions,
                                std::function<void(Result<DekLease>)> done) {
  using CallT = Impl::Call<v1::LeaseDekRequest, v1::WipedLeaseDekResponse>;
  auto call = std::make_unique<CallT>();
  call->request.set_kek_alias(kek_alias);
  call->request.set_topic(topic);
  call->request.set_requested_encryptions(requested_encryptions);
  auto* impl = impl_.get();
  impl_->start<v1::LeaseDekRequest, v1::WipedLeaseDekResponse>(
      std::move(call),
      [impl](CallT* c, std::function<void(grpc::Status)> cb) {
        grpc::internal::CallbackUnaryCall(impl->channel.get(), impl->lease_method, &c->context,
                                          &c->request, &c->response, std::move(cb));
      },
      [done = std::move(done)](const grpc::Status& status, v1::WipedLeaseDekResponse& wrapped) {
        v1::LeaseDekResponse& r = wrapped.message;
        if (!status.ok()) {
          return done(from_grpc(status));
        }
        if (r.dek().size() != 32 || r.edek().empty()) {
          return done(make_error(ErrorCode::kInternal, "key broker sent a malformed lease"));
        }
        DekLease lease;
        lease.dek_id = bytes_of(r.dek_id());
        lease.dek = take_key(r.mutable_dek());
        lease.edek = bytes_of(r.edek());
        lease.lease_number = r.lease_number();
        lease.encryption_budget = r.encryption_budget();
        lease.expires_at = std::chrono::system_clock::time_point(
            std::chrono::milliseconds(r.expires_at_unix_ms()));
        lease.kek_id = r.kek_id();
        lease.kek_version = r.kek_version();
        done(std::move(lease));
      });
}

void KeyBrokerClient::unwrap_dek(std::span<const uint8_t> edek, const std::string& topic,
                                 std::function<void(Result<UnwrappedDek>)> done) {
  using CallT = Impl::Call<v1::UnwrapDekRequest, v1::WipedUnwrapDekResponse>;
  auto call = std::make_unique<CallT>();
  call->request.set_edek(edek.data(), edek.size());
  call->request.set_topic(topic);
  auto* impl = impl_.get();
  impl_->start<v1::UnwrapDekRequest, v1::WipedUnwrapDekResponse>(
      std::move(call),
      [impl](CallT* c, std::function<void(grpc::Status)> cb) {
        grpc::internal::CallbackUnaryCall(impl->channel.get(), impl->unwrap_method, &c->context,
                                          &c->request, &c->response, std::move(cb));
      },
      [done = std::move(done)](const grpc::Status& status, v1::WipedUnwrapDekResponse& wrapped) {
        v1::UnwrapDekResponse& r = wrapped.message;
        if (!status.ok()) {
          return done(from_grpc(status));
        }
        if (r.dek().size() != 32) {
          return done(make_error(ErrorCode::kInternal, "key broker sent a malformed DEK"));
        }
        UnwrappedDek out;
        out.dek_id = bytes_of(r.dek_id());
        out.dek = take_key(r.mutable_dek());
        done(std::move(out));
      });
}

void KeyBrokerClient::resolve_alias(const std::string& kek_alias,
                                    std::function<void(Result<KekResolution>)> done) {
  using CallT = Impl::Call<v1::ResolveAliasRequest, v1::ResolveAliasResponse>;
  auto call = std::make_unique<CallT>();
  call->request.set_kek_alias(kek_alias);
  auto* impl = impl_.get();
  impl_->start<v1::ResolveAliasRequest, v1::ResolveAliasResponse>(
      std::move(call),
      [impl](CallT* c, std::function<void(grpc::Status)> cb) {
        grpc::internal::CallbackUnaryCall(impl->channel.get(), impl->resolve_method, &c->context,
                                          &c->request, &c->response, std::move(cb));
      },
      [done = std::move(done)](const grpc::Status& status, v1::ResolveAliasResponse& r) {
        if (!status.ok()) {
          return done(from_grpc(status));
        }
        done(KekResolution{r.kek_id(), r.kek_version()});
      });
}

}  // namespace kenc::proxy::keybroker_client
