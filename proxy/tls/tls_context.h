#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <memory>
#include <optional>
#include <string>

#include "common/base/result.h"
#include "proxy/config/proxy_config.h"

namespace kenc::proxy::tls {

// TLS contexts of the proxy (asio::ssl over OpenSSL 3), built once per virtual cluster at
// start-up and shared by its connections. TLS 1.2 is the minimum on both sides.
//
// Server side (clients -> proxy): certificate chain + key; with a client CA, a client must
// present a certificate it signed (mutual TLS), otherwise the handshake fails.
Result<std::shared_ptr<asio::ssl::context>> make_server_context(const config::DownstreamTls& tls);

// Client side (proxy -> brokers): the broker's certificate must chain to the trust store (or
// the system default store when none is configured); an optional client certificate.
Result<std::shared_ptr<asio::ssl::context>> make_client_context(const config::UpstreamTls& tls);

// Before the handshake of a connection to `host`: sends it as SNI (unless it is an IP
// address) and, when `verify_hostname`, requires the certificate to name it (DNS SAN, or IP
// SAN for an address).
Status prepare_client_stream(asio::ssl::stream<asio::ip::tcp::socket>& stream,
                             const std::string& host, bool verify_hostname);

// After a server-side handshake: the host name the client asked for (SNI), if it sent one.
// SNI routing maps it to a broker node (BrokerAddressMap::node_for_server_name).
std::optional<std::string> requested_server_name(asio::ssl::stream<asio::ip::tcp::socket>& stream);

}  // namespace kenc::proxy::tls
