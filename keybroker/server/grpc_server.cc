#include "keybroker/server/grpc_server.h"

#include <glog/logging.h>

#include "common/config/config_error.h"

namespace kenc::keybroker::server {

std::shared_ptr<grpc::ServerCredentials> make_server_credentials(
    const config::KeybrokerConfig& config) {
  if (config.insecure_plaintext_for_development) {
    LOG(WARNING) << "*****************************************************************";
    LOG(WARNING) << "* INSECURE: insecure_plaintext_for_development is set. The key  *";
    LOG(WARNING) << "* broker serves PLAINTEXT gRPC without client authentication:   *";
    LOG(WARNING) << "* anyone who reaches " << config.listen << " gets data keys.    *";
    LOG(WARNING) << "* Never use this outside a developer machine.                   *";
    LOG(WARNING) << "*****************************************************************";
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = config.tls.ca_pem;
  options.pem_key_cert_pairs.push_back({config.tls.key_pem, config.tls.cert_pem});
  return grpc::SslServerCredentials(options);
}

std::unique_ptr<grpc::Server> start_grpc_server(const config::KeybrokerConfig& config,
                                                grpc::Service& service, int* bound_port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, make_server_credentials(config), bound_port);
  builder.RegisterService(&service);
  // Requests are an alias or an EDEK (a few hundred bytes): refuse anything larger early.
  builder.SetMaxReceiveMessageSize(64 * 1024);
  auto server = builder.BuildAndStart();
  if (!server || (bound_port != nullptr && *bound_port == 0)) {
    throw kenc::config::ConfigError(
        "listen", "cannot listen on " + config.listen + " (address in use, or bad TLS files)");
  }
  return server;
}

}  // namespace kenc::keybroker::server
