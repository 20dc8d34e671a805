#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "keybroker/config/keybroker_config.h"

namespace kenc::keybroker::server {

// Server credentials from the configuration: mutual TLS that requires and verifies a client
// certificate signed by the configured CA, or, only with insecure_plaintext_for_development,
// plaintext (logged loudly).
std::shared_ptr<grpc::ServerCredentials> make_server_credentials(
    const config::KeybrokerConfig& config);

// Builds and starts a gRPC server on config.listen with `service`. Throws ConfigError when the
// address cannot be bound. `bound_port` receives the port (useful with port 0).
std::unique_ptr<grpc::Server> start_grpc_server(const config::KeybrokerConfig& config,
                                                grpc::Service& service, int* bound_port);

}  // namespace kenc::keybroker::server
