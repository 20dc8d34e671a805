#include "keybroker/server/key_broker_service.h"

#include <glog/logging.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/support/method_handler.h>
#include <openssl/crypto.h>

#include <algorithm>

#include "common/crypto/edek.h"
#include "keybroker/auth/caller_identity.h"
#include "proto/kenc/keybroker/v1/wiped_key_messages.h"

namespace kenc::keybroker::server {
namespace {

using Clock = dek::DekManager::Clock;

// Finish a little before the caller's deadline, so it hears why rather than a bare timeout.
constexpr auto kDeadlineMargin = std::chrono::milliseconds(20);

std::string outcome_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "ok";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "invalid_argument";
    case grpc::StatusCode::NOT_FOUND:
      return "not_found";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "permission_denied";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "unauthenticated";
    case grpc::StatusCode::UNAVAILABLE:
      return "unavailable";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "deadline_exceeded";
    case grpc::StatusCode::DATA_LOSS:
      return "data_loss";
    default:
      return "internal";
  }
}

// Runs at the end of every call: writes the audit line and turns an audit failure into
// UNAVAILABLE, wiping any key already placed in the response.
class CallAudit {
 public:
  CallAudit(audit::AuditLog& log, ServiceMetrics* metrics, std::string identity,
            const char* operation)
      : log_(log), metrics_(metrics), start_(Clock::now()) {
    record_.time = std::chrono::system_clock::now();
    record_.identity = std::move(identity);
    record_.operation = operation;
  }

  audit::AuditRecord& record() { return record_; }

  grpc::Status finish(grpc::Status status, std::string* key_in_response) {
    record_.outcome = outcome_name(status.error_code());
    if (!status.ok()) {
      record_.detail = status.error_message();
    }
    record_.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
    Status written = log_.write(record_);
    if (metrics_ != nullptr) {
      metrics_->latency.with({record_.operation}).observe(record_.latency_ms / 1000);
      metrics_->requests.with({record_.operation, written ? record_.outcome : "audit_failed"})
          .inc();
    }
    if (!written) {
      LOG(ERROR) << "audit log write failed, refusing the request: " << written.error().to_string();
      if (key_in_response != nullptr) {
        OPENSSL_cleanse(key_in_response->data(), key_in_response->size());
        key_in_response->clear();
      }
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the audit log cannot be written");
    }
    return status;
  }

 private:
  audit::AuditLog& log_;
  ServiceMetrics* metrics_;
  Clock::time_point start_;
  audit::AuditRecord record_;
};

grpc::Status to_grpc(const Error& error) {
  return grpc::Status(grpc_code_for(error.code), error.message);
}

grpc::Status denied(const std::string& identity, const char* operation, const std::string& kek) {
  return grpc::Status(
      grpc::StatusCode::PERMISSION_DENIED,
      "identity '" + identity + "' may not " + operation + " under KEK '" + kek + "'");
}

}  // namespace

ServiceMetrics::ServiceMetrics(admin::MetricsRegistry& registry)
    : requests(registry.counter_family("kenc_keybroker_requests_total",
                                       "Key broker requests by operation and outcome",
                                       {"operation", "outcome"})),
      latency(registry.histogram_family("kenc_keybroker_request_seconds",
                                        "Key broker request latency", {"operation"})) {}

namespace {

// The message a handler fills: the wrapped one for the DEK-carrying responses.
template <typename Message>
Message* message_of(v1::WipedKeyMessage<Message>* response) {
  return &response->message;
}
template <typename Message>
Message* message_of(Message* response) {
  return response;
}

}  // namespace

template <typename Request, typename Response, typename Message>
void KeyBrokerService::add_unary_method(
    const char* name,
    grpc::Status (KeyBrokerService::*handler)(grpc::ServerContext*, const Request*, Message*)) {
  using grpc::internal::RpcMethod;
  using grpc::internal::RpcMethodHandler;
  using grpc::internal::RpcServiceMethod;
  // What the generated service's constructor does, with the response type chosen here: gRPC
  // serializes each response through its SerializationTraits and destroys it after sending.
  AddMethod(
      new RpcServiceMethod(name, RpcMethod::NORMAL_RPC,
                           new RpcMethodHandler<KeyBrokerService, Request, Response>(
                               [handler](KeyBrokerService* service, grpc::ServerContext* context,
                                         const Request* request, Response* response) {
                                 return (service->*handler)(context, request, message_of(response));
                               },
                               this)));
}

KeyBrokerService::KeyBrokerService(const config::KeybrokerConfig& config, dek::DekManager& deks,
                                   audit::AuditLog& audit, ServiceMetrics* metrics)
    : config_(config), deks_(deks), audit_(audit), metrics_(metrics) {
  add_unary_method<v1::LeaseDekRequest, v1::WipedLeaseDekResponse>(v1::kLeaseDekMethod,
                                                                   &KeyBrokerService::LeaseDek);
  add_unary_method<v1::UnwrapDekRequest, v1::WipedUnwrapDekResponse>(v1::kUnwrapDekMethod,
                                                                     &KeyBrokerService::UnwrapDek);
  add_unary_method<v1::ResolveAliasRequest, v1::ResolveAliasResponse>(
      v1::kResolveAliasMethod, &KeyBrokerService::ResolveAlias);
}

grpc::StatusCode grpc_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kOutOfRange:
    case ErrorCode::kUnsupported:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case ErrorCode::kDataLoss:
      return grpc::StatusCode::DATA_LOSS;
    case ErrorCode::kPermissionDenied:  // the KMS refused the broker: not the caller's fault
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
      return grpc::StatusCode::UNAVAILABLE;
    case ErrorCode::kInternal:
      return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

std::string KeyBrokerService::identity_of(const grpc::ServerContext& context) const {
  if (config_.insecure_plaintext_for_development) {
    return kPlaintextIdentity;
  }
  auto auth = context.auth_context();
  return auth ? auth::caller_identity(*auth) : std::string();
}

Clock::time_point KeyBrokerService::deadline_of(const grpc::ServerContext& context) const {
  auto now = Clock::now();
  auto by_default = now + config_.default_deadline;
  auto caller = context.deadline();
  if (caller == std::chrono::system_clock::time_point::max()) {
    return by_default;
  }
  auto remaining = caller - std::chrono::system_clock::now() - kDeadlineMargin;
  return std::min(by_default, now + std::chrono::duration_cast<Clock::duration>(remaining));
}

grpc::Status KeyBrokerService::LeaseDek(grpc::ServerContext* context,
                                        const v1::LeaseDekRequest* request,
                                        v1::LeaseDekResponse* response) {
  CallAudit call(audit_, metrics_, identity_of(*context), "lease");
  auto& rec = call.record();
  rec.kek_alias = request->kek_alias();
  rec.topic = request->topic();
  if (request->kek_alias().empty()) {
    return call.finish({grpc::StatusCode::INVALID_ARGUMENT, "kek_alias is empty"}, nullptr);
  }
  if (!config_.policy.allows(rec.identity, auth::Operation::kLease, {request->kek_alias()})) {
    return call.finish(denied(rec.identity, "lease", request->kek_alias()), nullptr);
  }
  rec.kek_id = config_.kek_id_for(request->kek_alias());
  auto lease = deks_.lease(rec.kek_id, request->requested_encryptions(), deadline_of(*context));
  if (!lease) {
    return call.finish(to_grpc(lease.error()), nullptr);
  }

  const auto& dek = *lease->dek;
  rec.kek_version = dek.kek_version;
  rec.dek_id_hex = dek::to_hex(dek.dek_id);
  rec.lease_number = lease->lease_number;
  response->set_dek_id(dek.dek_id.data(), dek.dek_id.size());
  response->set_dek(dek.dek.view().data(), dek.dek.size());
  response->set_edek(lease->edek.data(), lease->edek.size());
  response->set_lease_number(lease->lease_number);
  response->set_encryption_budget(lease->encryption_budget);
  response->set_expires_at_unix_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(lease->expires_at.time_since_epoch())
          .count());
  response->set_kek_id(dek.kek_id);
  response->set_kek_version(dek.kek_version);
  return call.finish(grpc::Status::OK, response->mutable_dek());
}

grpc::Status KeyBrokerService::UnwrapDek(grpc::ServerContext* context,
                                         const v1::UnwrapDekRequest* request,
                                         v1::UnwrapDekResponse* response) {
  CallAudit call(audit_, metrics_, identity_of(*context), "unwrap");
  auto& rec = call.record();
  rec.topic = request->topic();
  const auto* bytes = reinterpret_cast<const uint8_t*>(request->edek().data());
  std::span<const uint8_t> edek_bytes(bytes, request->edek().size());
  auto edek = crypto::parse_edek(edek_bytes);
  if (!edek) {
    return call.finish(
        {grpc::StatusCode::INVALID_ARGUMENT, "malformed EDEK: " + edek.error().message}, nullptr);
  }
  rec.kek_id = edek->kek_id;
  rec.kek_version = edek->kek_version;
  rec.dek_id_hex = dek::to_hex(dek::dek_id_of(edek_bytes));
  auto names = config_.names_of_kek(edek->kek_id);
  rec.kek_alias = names.size() > 1 ? names[1] : names[0];
  if (!config_.policy.allows(rec.identity, auth::Operation::kUnwrap, names)) {
    return call.finish(denied(rec.identity, "unwrap", edek->kek_id), nullptr);
  }
  auto dek = deks_.unwrap(edek_bytes, deadline_of(*context));
  if (!dek) {
    return call.finish(to_grpc(dek.error()), nullptr);
  }
  response->set_dek_id((*dek)->dek_id.data(), (*dek)->dek_id.size());
  response->set_dek((*dek)->dek.view().data(), (*dek)->dek.size());
  return call.finish(grpc::Status::OK, response->mutable_dek());
}

grpc::Status KeyBrokerService::ResolveAlias(grpc::ServerContext* context,
                                            const v1::ResolveAliasRequest* request,
                                            v1::ResolveAliasResponse* response) {
  CallAudit call(audit_, metrics_, identity_of(*context), "resolve");
  auto& rec = call.record();
  rec.kek_alias = request->kek_alias();
  if (request->kek_alias().empty()) {
    return call.finish({grpc::StatusCode::INVALID_ARGUMENT, "kek_alias is empty"}, nullptr);
  }
  if (!config_.policy.allows(rec.identity, auth::Operation::kResolve, {request->kek_alias()})) {
    return call.finish(denied(rec.identity, "resolve", request->kek_alias()), nullptr);
  }
  rec.kek_id = config_.kek_id_for(request->kek_alias());
  auto info = deks_.describe(rec.kek_id, deadline_of(*context));
  if (!info) {
    return call.finish(to_grpc(info.error()), nullptr);
  }
  rec.kek_version = info->latest_version;
  response->set_kek_id(info->kek_id);
  response->set_kek_version(info->latest_version);
  return call.finish(grpc::Status::OK, nullptr);
}

}  // namespace kenc::keybroker::server
