#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "common/base/result.h"
#include "proxy/filters/address_rewrite/broker_address_map.h"
#include "proxy/net/connection.h"

namespace kenc::proxy {

// Asks the cluster for its brokers (a Metadata request for no topics, sent to the bootstrap
// servers on a connection of the proxy's own) and records every broker's real address in `map`.
// Needed when a client connects to a per-broker port before any Metadata response has passed
// through this proxy instance: after a proxy restart, or behind a load balancer whose other
// proxy answered the client's Metadata request.
//
// Limitation: a broker listener that requires SASL authentication refuses this request; such a
// deployment must let the client's own Metadata response pass through first.
asio::awaitable<Status> discover_brokers(asio::any_io_executor executor,
                                         const UpstreamTarget& bootstrap,
                                         address_rewrite::BrokerAddressMap& map);

}  // namespace kenc::proxy
