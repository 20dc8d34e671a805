#include "proxy/filters/address_rewrite/response_rewriter.h"

#include <algorithm>
#include <string>

#include "common/kafka/protocol/api_table.h"
#include "common/kafka/protocol/dispatch.h"
#include "common/kafka/protocol/generated/all_messages.h"
#include "common/kafka/protocol/headers.h"

namespace kenc::proxy::address_rewrite {
namespace {

constexpr int16_t kProduce = 0;
constexpr int16_t kFetch = 1;
constexpr int16_t kMetadata = 3;
constexpr int16_t kFindCoordinator = 10;
constexpr int16_t kDescribeCluster = 60;
constexpr int16_t kShareFetch = 78;
constexpr int16_t kShareAcknowledge = 79;
constexpr int16_t kFirstProduceWithEndpoints = 10;
constexpr int16_t kFirstFetchWithEndpoints = 16;
constexpr int16_t kFirstFindCoordinatorWithList = 4;
constexpr int16_t kFirstShareWithEndpoints = 1;

// Replaces one (node id, host, port) triple. Negative node ids mean "no broker" (for example a
// FindCoordinator error answer with host "" and port -1) and are left alone.
Status rewrite_node(BrokerAddressMap& map, int32_t node_id, std::string& host, int32_t& port) {
  if (node_id < 0) {
    return Status::Ok();
  }
  map.learn_upstream(node_id, Endpoint{host, port});
  auto advertised = map.advertised(node_id);
  if (!advertised.ok()) {
    return advertised.error();
  }
  host = advertised->host;
  port = advertised->port;
  return Status::Ok();
}

template <typename Endpoints>
Status rewrite_node_endpoints(BrokerAddressMap& map, Endpoints& endpoints) {
  for (auto& e : endpoints) {
    if (Status st = rewrite_node(map, e.node_id, e.host, e.port); !st.ok()) {
      return st;
    }
  }
  return Status::Ok();
}

Status rewrite_body(kafka::Message& body, int16_t api_key, int16_t version, BrokerAddressMap& map,
                    TopicIdMap* topics) {
  switch (api_key) {
    case kMetadata: {
      auto& m = *kafka::message_cast<kafka::MetadataResponse>(body);
      for (auto& b : m.brokers) {
        if (Status st = rewrite_node(map, b.node_id, b.host, b.port); !st.ok()) {
          return st;
        }
      }
      if (topics != nullptr) {
        for (const auto& t : m.topics) {
          if (t.error_code == 0 && t.name) {
            topics->learn(t.topic_id, *t.name);
          }
        }
      }
      return Status::Ok();
    }
    case kFindCoordinator: {
      auto& m = *kafka::message_cast<kafka::FindCoordinatorResponse>(body);
      if (version < kFirstFindCoordinatorWithList) {
        return rewrite_node(map, m.node_id, m.host, m.port);
      }
      for (auto& c : m.coordinators) {
        if (Status st = rewrite_node(map, c.node_id, c.host, c.port); !st.ok()) {
          return st;
        }
      }
      return Status::Ok();
    }
    case kDescribeCluster: {
      auto& m = *kafka::message_cast<kafka::DescribeClusterResponse>(body);
      for (auto& b : m.brokers) {
        if (Status st = rewrite_node(map, b.broker_id, b.host, b.port); !st.ok()) {
          return st;
        }
      }
      return Status::Ok();
    }
    case kProduce:
      return rewrite_node_endpoints(
          map, kafka::message_cast<kafka::ProduceResponse>(body)->node_endpoints);
    case kFetch:
      return rewrite_node_endpoints(
          map, kafka::message_cast<kafka::FetchResponse>(body)->node_endpoints);
    case kShareFetch:
      return rewrite_node_endpoints(
          map, kafka::message_cast<kafka::ShareFetchResponse>(body)->node_endpoints);
    case kShareAcknowledge:
      return rewrite_node_endpoints(
          map, kafka::message_cast<kafka::ShareAcknowledgeResponse>(body)->node_endpoints);
    default:
      return make_error(ErrorCode::kInternal,
                        "no address rewriting for API key " + std::to_string(api_key));
  }
}

// Decodes header + body, applies `edit` to the body, encodes both again.
template <typename Edit>
Result<std::vector<uint8_t>> edit_response(int16_t api_key, int16_t version,
                                           const SharedBytes& payload, Edit edit) {
  auto header_version = kafka::response_header_version(api_key, version);
  if (!header_version.ok()) {
    return header_version.error();
  }
  kafka::Reader reader(payload);
  kafka::ResponseHeader header;
  if (Status st = header.decode(reader, *header_version); !st.ok()) {
    return st.error();
  }
  auto body = kafka::decode_message(api_key, kafka::MessageKind::kResponse, version, reader);
  if (!body.ok()) {
    return body.error();
  }
  if (reader.remaining() != 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::to_string(reader.remaining()) + " bytes after the response body");
  }
  if (Status st = edit(**body); !st.ok()) {
    return st.error();
  }
  kafka::Writer writer;
  if (Status st = header.encode(writer, *header_version); !st.ok()) {
    return st.error();
  }
  if (Status st = (*body)->encode(writer, version); !st.ok()) {
    return st.error();
  }
  return writer.take_bytes();
}

}  // namespace

bool carries_broker_addresses(int16_t api_key, int16_t api_version) {
  switch (api_key) {
    case kMetadata:
    case kFindCoordinator:
    case kDescribeCluster:
      return true;
    case kShareFetch:
    case kShareAcknowledge:
      return api_version >= kFirstShareWithEndpoints;
    case kProduce:
      return api_version >= kFirstProduceWithEndpoints;
    case kFetch:
      return api_version >= kFirstFetchWithEndpoints;
    default:
      return false;
  }
}

Result<std::vector<uint8_t>> rewrite_response(int16_t api_key, int16_t api_version,
                                              const SharedBytes& payload, BrokerAddressMap& map,
                                              TopicIdMap* topics) {
  if (!carries_broker_addresses(api_key, api_version)) {
    return make_error(ErrorCode::kInvalidArgument, "API key " + std::to_string(api_key) + " v" +
                                                       std::to_string(api_version) +
                                                       " carries no broker addresses");
  }
  return edit_response(api_key, api_version, payload, [&](kafka::Message& body) {
    return rewrite_body(body, api_key, api_version, map, topics);
  });
}

Result<std::vector<uint8_t>> intersect_api_versions(
    int16_t api_version, const SharedBytes& payload,
    const std::function<bool(int16_t api_key)>& decoded_by_filters) {
  return edit_response(kafka::kApiVersionsKey, api_version, payload,
                       [&](kafka::Message& body) -> Status {
                         auto& m = *kafka::message_cast<kafka::ApiVersionsResponse>(body);
                         std::erase_if(m.api_keys, [&](auto& entry) {
                           if (!decoded_by_filters(entry.api_key)) {
                             return false;
                           }
                           const kafka::ApiInfo* api = kafka::find_api(entry.api_key);
                           if (api == nullptr) {
                             return true;  // a filter needs it decoded, the codec cannot
                           }
                           entry.min_version = std::max(entry.min_version, api->lowest_version);
                           entry.max_version = std::min(entry.max_version, api->highest_version);
                           return entry.min_version > entry.max_version;
                         });
                         return Status::Ok();
                       });
}

}  // namespace kenc::proxy::address_rewrite
