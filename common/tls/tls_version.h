#pragma once

#include <string>

namespace kenc::tls {

// The OpenSSL library version linked at run time, for the start-up banner.
std::string openssl_version();

}  // namespace kenc::tls
