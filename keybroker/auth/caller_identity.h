#pragma once

#include <grpcpp/security/auth_context.h>

#include <string>

namespace kenc::keybroker::auth {

// The caller's identity from its verified client certificate: the first URI SAN (for example a
// SPIFFE id), else the first DNS SAN, else the subject CN. Empty when the connection carries no
// verified certificate (plaintext development mode).
std::string caller_identity(const grpc::AuthContext& context);

}  // namespace kenc::keybroker::auth
