#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "common/base/byte_buffer.h"
#include "common/base/result.h"
#include "common/base/shared_bytes.h"
#include "proxy/filters/address_rewrite/broker_address_map.h"
#include "proxy/filters/address_rewrite/topic_id_map.h"

namespace kenc::proxy::address_rewrite {

// True for the responses that carry broker addresses a client would connect to:
// Metadata (3) brokers, FindCoordinator (10) v0-3 top level / v4+ coordinators,
// DescribeCluster (60) brokers, and the KIP-951 NodeEndpoints of Produce (0) v10+,
// Fetch (1) v16+, ShareFetch (78) v1+ and ShareAcknowledge (79) v1+.
bool carries_broker_addresses(int16_t api_key, int16_t api_version);

// Rewrites one response so every broker address in it is the proxy's (see BrokerAddressMap),
// learning each node's real address on the way (and, from Metadata v10+, topic ids -> names
// into `topics` when given). `payload` is the response frame without its size prefix (header
// and body); the result is the new payload. All other fields, unknown tagged fields included,
// are re-encoded unchanged.
// Errors: kUnsupported for an API key or version the codec does not know (the caller forwards
// such a response untouched); decoding errors for malformed bytes. A node id the gateway cannot
// advertise (outside its node-id range) is not an error: it is reported to the map
// (report_unadvertisable) and left out of broker lists and NodeEndpoints, and a coordinator on it
// is answered COORDINATOR_NOT_AVAILABLE, so the client keeps working with the brokers in range.
Result<ByteBuffer> rewrite_response(int16_t api_key, int16_t api_version,
                                    const SharedBytes& payload, BrokerAddressMap& map,
                                    TopicIdMap* topics = nullptr);

// ApiVersions: the proxy must not let a client pick a version of an API that some filter has to
// decode but the codec cannot. For every key `decoded_by_filters(key)` says yes to, the range
// is narrowed to the codec's: max lowered to its highest, min raised to its lowest (Kafka 4.x
// advertises Produce v0, its specs start at v3); an entry left empty is dropped. Other
// keys pass through as the broker sent them (forwarded untouched, unknown versions included).
Result<ByteBuffer> intersect_api_versions(
    int16_t api_version, const SharedBytes& payload,
    const std::function<bool(int16_t api_key)>& decoded_by_filters);

}  // namespace kenc::proxy::address_rewrite
