#pragma once

#include "proxy/config/proxy_config.h"
#include "proxy/server/proxy_server.h"

namespace kenc::proxy {

// Turns the proxy's configuration into what the running server needs: for every virtual
// cluster a bootstrap listener (upstream: the cluster's bootstrap servers) and one listener per
// broker node id of the gateway's port-per-broker range (upstream: that broker, whose address is
// learned from the Metadata responses passing through, or discovered on demand), TLS contexts,
// and the filter chain (address rewriting first). Throws kenc::config::ConfigError naming the
// key when something in the configuration cannot be built (a certificate that does not load,
// a gateway the proxy cannot serve).
ProxyServerOptions build_server_options(const config::ProxyConfig& config);

}  // namespace kenc::proxy
