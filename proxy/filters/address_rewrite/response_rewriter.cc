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
constexpr int16_t kCoordinatorNotAvailable = 15;

// Replaces one (node id, host, port) triple. Negative node ids mean "no broker" (for example a
// FindCoordinator error answer with host "" and port -1) and are left alone. A node the gateway
// cannot advertise (outside its node-id range) is reported to the map and `*advertisable` is
// set to false: the caller leaves it out (its real address would send the client around the
// proxy), and the client keeps working with the brokers it can reach.
Status rewrite_node(BrokerAddressMap& map, int32_t node_id, std::string& host, int32_t& port,
                    bool* advertisable = nullptr) {
  if (node_id < 0) {
    return Status::Ok();
  }
  map.learn_upstream(node_id, Endpoint{host, port});
  auto advertised = map.advertised(node_id);
  if (!advertised.ok()) {
    if (advertised.error().code != ErrorCode::kOutOfRange || advertisable == nullptr) {
      return advertised.error();
    }
    map.report_unadvertisable(node_id);
    *advertisable = false;
    return Status::Ok();
  }
  host = advertised->host;
  port = advertised->port;
  return Status::Ok();
}

// Rewrites a list of brokers or NodeEndpoints, leaving out the nodes that cannot be advertised.
template <typename Nodes, typename NodeId>
Status rewrite_node_list(BrokerAddressMap& map, Nodes& nodes, NodeId node_id_of) {
  Status failed = Status::Ok();
  std::erase_if(nodes, [&](auto& n) {
    bool advertisable = true;
    if (failed.ok()) {
      failed = rewrite_node(map, node_id_of(n), n.host, n.port, &advertisable);
    }
    return !advertisable;
  });
  return failed;
}

template <typename Endpoints>
Status rewrite_node_endpoints(BrokerAddressMap& map, Endpoints& endpoints) {
  return rewrite_node_list(map, endpoints, [](const auto& e) { return e.node_id; });
}

Status rewrite_body(kafka::Message& body, int16_t api_key, int16_t version, BrokerAddressMap& map,
                    TopicIdMap* topics) {
  switch (api_key) {
    case kMetadata: {
      auto& m = *kafka::message_cast<kafka::MetadataResponse>(body);
      // Partitions led by a node left out have a leader the client does not know: it treats
      // them as unavailable and keeps using the others.
      if (Status st = rewrite_node_list(map, m.brokers, [](const auto& b) { return b.node_id; });
          !st.ok()) {
        return st;
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
      // A coordinator the gateway cannot advertise is answered as not available (retriable).
      if (version < kFirstFindCoordinatorWithList) {
        bool advertisable = true;
        Status st = rewrite_node(map, m.node_id, m.host, m.port, &advertisable);
        if (st.ok() && !advertisable) {
          m.error_code = kCoordinatorNotAvailable;
          m.error_message = "coordinator " + std::to_string(m.node_id) +
                            " is outside the proxy gateway's node-id range";
          m.node_id = -1;
          m.host.clear();
          m.port = -1;
        }
        return st;
      }
      for (auto& c : m.coordinators) {
        bool advertisable = true;
        if (Status st = rewrite_node(map, c.node_id, c.host, c.port, &advertisable); !st.ok()) {
          return st;
        }
        if (!advertisable) {
          c.error_code = kCoordinatorNotAvailable;
          c.error_message = "coordinator " + std::to_string(c.node_id) +
                            " is outside the proxy gateway's node-id range";
          c.node_id = -1;
          c.host.clear();
          c.port = -1;
        }
      }
      return Status::Ok();
    }
    case kDescribeCluster: {
      auto& m = *kafka::message_cast<kafka::DescribeClusterResponse>(body);
      return rewrite_node_list(map, m.brokers, [](const auto& b) { return b.broker_id; });
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
Result<ByteBuffer> edit_response(int16_t api_key, int16_t version, const SharedBytes& payload,
                                 Edit edit) {
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

Result<ByteBuffer> rewrite_response(int16_t api_key, int16_t api_version,
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

Result<ByteBuffer> intersect_api_versions(
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
                           // Produce keeps the broker's minimum: librdkafka only compresses
                           // with gzip/snappy/lz4 when Produce v0 is listed (Kafka 4 brokers
                           // list it for that reason while refusing v0-v2). A client that sends
                           // a version below the codec's is refused by the filters that decode
                           // Produce, never forwarded unencrypted.
                           if (entry.api_key != kProduce) {
                             entry.min_version = std::max(entry.min_version, api->lowest_version);
                           }
                           entry.max_version = std::min(entry.max_version, api->highest_version);
                           return entry.min_version > entry.max_version;
                         });
                         return Status::Ok();
                       });
}

}  // namespace kenc::proxy::address_rewrite
