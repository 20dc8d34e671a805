#pragma once

#include <asio/awaitable.hpp>
#include <vector>

#include "common/base/result.h"
#include "common/kafka/protocol/types.h"
#include "proxy/filter/filter.h"
#include "proxy/filters/address_rewrite/topic_id_map.h"

namespace kenc::proxy::address_rewrite {

// The Metadata version used to look topics up by id (v10 added ids, v12 lets a request name a
// topic by id alone; every Kafka 3.1+ broker serves it).
inline constexpr int16_t kMetadataByIdVersion = 12;

// Learns the names of topic ids that `map` does not know yet, by sending one Metadata request
// for them on the client's upstream connection (context.upstream), out of band: needed when the
// client fetched its metadata through another proxy instance, or before this proxy restarted,
// so no Metadata response carrying these ids passed through here.
//
// Ids the map already knows are not asked for; with none left, nothing is sent. On success every
// id the broker knows is in `map`; an id the broker does not know (deleted topic, or one the
// client may not describe) stays unknown and the caller answers UNKNOWN_TOPIC_ID for it.
// Errors: kUnavailable without an upstream channel or when the connection closes; kInvalidArgument
// or the codec's error for a response that does not decode; kUnavailable for a top-level error.
//
// `context` and `map` must outlive the call (the caller co_awaits it at once).
asio::awaitable<Status> resolve_topic_names(const RequestContext& context, TopicIdMap& map,
                                            std::vector<kafka::Uuid> ids);

}  // namespace kenc::proxy::address_rewrite
