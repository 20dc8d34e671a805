#include "proxy/filters/address_rewrite/resolve_topic_names.h"

#include <algorithm>
#include <string>

#include "common/kafka/protocol/generated/metadata_request.h"
#include "common/kafka/protocol/generated/metadata_response.h"
#include "common/kafka/protocol/headers.h"

namespace kenc::proxy::address_rewrite {
namespace {

Result<Frame> metadata_request(const std::vector<kafka::Uuid>& ids) {
  kafka::RequestHeader header;
  header.api_key = kafka::MetadataRequest::kApiKey;
  header.api_version = kMetadataByIdVersion;
  header.correlation_id = 0;  // the connection puts its own id in
  header.client_id = "kenc-proxy-topic-ids";
  kafka::MetadataRequest body;
  body.topics.emplace();
  for (const auto& id : ids) {
    kafka::MetadataRequest::MetadataRequestTopic topic;
    topic.topic_id = id;
    topic.name = std::nullopt;  // by id alone
    body.topics->push_back(std::move(topic));
  }
  body.allow_auto_topic_creation = false;
  kafka::Writer writer;
  auto header_version = kafka::request_header_version(header.api_key, header.api_version);
  if (!header_version.ok()) {
    return header_version.error();
  }
  if (auto s = header.encode(writer, *header_version); !s.ok()) {
    return s.error();
  }
  if (auto s = body.encode(writer, kMetadataByIdVersion); !s.ok()) {
    return s.error();
  }
  return make_frame(writer.bytes());
}

Status learn_from(const Frame& frame, TopicIdMap& map) {
  auto payload = frame.payload();
  kafka::Reader reader(SharedBytes(std::vector<uint8_t>(payload.begin(), payload.end())));
  auto header_version =
      kafka::response_header_version(kafka::MetadataResponse::kApiKey, kMetadataByIdVersion);
  if (!header_version.ok()) {
    return header_version.error();
  }
  kafka::ResponseHeader header;
  if (auto s = header.decode(reader, *header_version); !s.ok()) {
    return s;
  }
  kafka::MetadataResponse response;
  if (auto s = response.decode(reader, kMetadataByIdVersion); !s.ok()) {
    return s;
  }
  for (const auto& topic : response.topics) {
    if (topic.error_code == 0 && topic.name) {
      map.learn(topic.topic_id, *topic.name);
    }
  }
  return Status::Ok();
}

}  // namespace

asio::awaitable<Status> resolve_topic_names(const RequestContext& context, TopicIdMap& map,
                                            std::vector<kafka::Uuid> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::erase_if(ids, [&map](const kafka::Uuid& id) { return map.name(id).has_value(); });
  if (ids.empty()) {
    co_return Status::Ok();
  }
  if (context.upstream == nullptr) {
    co_return make_error(ErrorCode::kUnavailable,
                         "no upstream connection to ask for topic names on");
  }
  auto request = metadata_request(ids);
  if (!request.ok()) {
    co_return request.error();
  }
  Result<Frame> response = co_await context.upstream->send(std::move(*request));
  if (!response.ok()) {
    co_return response.error();
  }
  co_return learn_from(*response, map);
}

}  // namespace kenc::proxy::address_rewrite
