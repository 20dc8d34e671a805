#include "keybroker/auth/caller_identity.h"

#include <grpc/grpc_security_constants.h>

namespace kenc::keybroker::auth {
namespace {

std::string first_value(const grpc::AuthContext& context, const char* property) {
  auto values = context.FindPropertyValues(property);
  if (values.empty()) {
    return {};
  }
  return std::string(values.front().data(), values.front().size());
}

}  // namespace

std::string caller_identity(const grpc::AuthContext& context) {
  if (!context.IsPeerAuthenticated()) {
    return {};
  }
  for (const char* property :
       {GRPC_PEER_URI_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME, GRPC_X509_CN_PROPERTY_NAME}) {
    std::string value = first_value(context, property);
    if (!value.empty()) {
      return value;
    }
  }
  return {};
}

}  // namespace kenc::keybroker::auth
