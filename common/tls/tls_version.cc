#include "common/tls/tls_version.h"

#include <openssl/crypto.h>

namespace kenc::tls {

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace kenc::tls
