#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include "common/admin/metrics.h"
#include "kenc/keybroker/v1/keybroker.pb.h"
#include "keybroker/audit/audit_log.h"
#include "keybroker/config/keybroker_config.h"
#include "keybroker/dek/dek_manager.h"

namespace kenc::keybroker::server {

// Request counts and latencies for /metrics.
struct ServiceMetrics {
  explicit ServiceMetrics(admin::MetricsRegistry& registry);
  admin::CounterFamily& requests;   // {operation, outcome}
  admin::HistogramFamily& latency;  // {operation}
};

// The gRPC KeyBroker service. Every call: identify the caller from its certificate, check the
// authorization policy, do the work through the DEK manager within the call's deadline, and
// write one audit line. If the audit line cannot be written the call fails with UNAVAILABLE and
// no key leaves the broker.
//
// Handlers run on gRPC's synchronous-server threads; KMS calls run on the DEK manager's own pool,
// so a slow KMS holds a handler at most until the call's deadline.
//
// The methods are registered by hand rather than through the generated KeyBroker::Service, so
// that the two responses carrying a DEK are serialized into wiped buffers
// (proto/kenc/keybroker/v1/wiped_key_messages.h); the wire format is the .proto's.
class KeyBrokerService final : public grpc::Service {
 public:
  KeyBrokerService(const config::KeybrokerConfig& config, dek::DekManager& deks,
                   audit::AuditLog& audit, ServiceMetrics* metrics = nullptr);

  grpc::Status LeaseDek(grpc::ServerContext* context, const v1::LeaseDekRequest* request,
                        v1::LeaseDekResponse* response);
  grpc::Status UnwrapDek(grpc::ServerContext* context, const v1::UnwrapDekRequest* request,
                         v1::UnwrapDekResponse* response);
  grpc::Status ResolveAlias(grpc::ServerContext* context, const v1::ResolveAliasRequest* request,
                            v1::ResolveAliasResponse* response);

  // The identity used for callers in insecure plaintext development mode.
  static constexpr const char* kPlaintextIdentity = "insecure-plaintext";

 private:
  // Registers `handler` under the full method `name`, its response sent as `Response`.
  template <typename Request, typename Response, typename Message>
  void add_unary_method(const char* name,
                        grpc::Status (KeyBrokerService::*handler)(grpc::ServerContext*,
                                                                  const Request*, Message*));

  std::string identity_of(const grpc::ServerContext& context) const;
  dek::DekManager::Clock::time_point deadline_of(const grpc::ServerContext& context) const;

  const config::KeybrokerConfig& config_;
  dek::DekManager& deks_;
  audit::AuditLog& audit_;
  ServiceMetrics* metrics_;
};

// Maps our error codes to gRPC's. A KMS that does not answer in time is UNAVAILABLE: the proxy
// retries, and the producer sees a retriable error.
grpc::StatusCode grpc_code_for(ErrorCode code);

}  // namespace kenc::keybroker::server
