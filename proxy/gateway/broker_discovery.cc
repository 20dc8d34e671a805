#include "proxy/gateway/broker_discovery.h"

#include <openssl/ssl.h>

#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "common/kafka/protocol/generated/metadata_request.h"
#include "common/kafka/protocol/generated/metadata_response.h"
#include "common/kafka/protocol/headers.h"
#include "proxy/net/byte_stream.h"
#include "proxy/net/frame_reader.h"

namespace kenc::proxy {
namespace {

constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr int16_t kMetadataVersion = 12;  // flexible; supported by every Kafka 3.x and 4.x broker
constexpr int32_t kCorrelationId = 1;

Result<ByteBuffer> metadata_request_frame() {
  kafka::RequestHeader header;
  header.api_key = kafka::MetadataRequest::kApiKey;
  header.api_version = kMetadataVersion;
  header.correlation_id = kCorrelationId;
  header.client_id = "kenc-proxy-discovery";
  kafka::MetadataRequest body;
  body.topics.emplace();  // an empty list: brokers only, no topics
  body.allow_auto_topic_creation = false;
  kafka::Writer writer;
  auto header_version = kafka::request_header_version(header.api_key, header.api_version);
  if (!header_version.ok()) {
    return header_version.error();
  }
  if (auto s = header.encode(writer, *header_version); !s.ok()) {
    return s.error();
  }
  if (auto s = body.encode(writer, kMetadataVersion); !s.ok()) {
    return s.error();
  }
  return make_frame(writer.bytes()).bytes;
}

// One attempt against one server: connect, (TLS), send, read one frame, learn the brokers.
asio::awaitable<Status> ask(asio::any_io_executor executor, const HostPort& server,
                            const UpstreamTarget& target, address_rewrite::BrokerAddressMap& map) {
  using namespace asio::experimental::awaitable_operators;
  asio::ip::tcp::resolver resolver(executor);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(server.host, std::to_string(server.port), kAsTuple);
  if (rec) {
    co_return make_error(ErrorCode::kUnavailable, server.to_string() + ": " + rec.message());
  }
  asio::ip::tcp::socket socket(executor);
  asio::steady_timer timeout(executor, std::chrono::seconds(10));
  auto connected =
      co_await (asio::async_connect(socket, endpoints, kAsTuple) || timeout.async_wait(kAsTuple));
  if (connected.index() != 0 || std::get<0>(std::get<0>(connected))) {
    co_return make_error(ErrorCode::kUnavailable, server.to_string() + ": cannot connect");
  }
  std::unique_ptr<ByteStream> stream;
  if (target.tls == nullptr) {
    stream = std::make_unique<ByteStream>(std::move(socket));
  } else {
    stream = std::make_unique<ByteStream>(std::move(socket), *target.tls);
    auto* tls = stream->tls();
    SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(server.host.c_str()));
    tls->set_verify_mode(asio::ssl::verify_peer);
    if (target.verify_hostname) {
      tls->set_verify_callback(asio::ssl::host_name_verification(server.host));
    }
    if (auto ec = co_await stream->handshake(asio::ssl::stream_base::client)) {
      co_return make_error(ErrorCode::kUnavailable,
                           server.to_string() + ": TLS handshake: " + ec.message());
    }
  }
  auto frame = metadata_request_frame();
  if (!frame.ok()) {
    co_return frame.error();
  }
  // Not a braced list inside co_await: GCC 12 cannot put its backing array in the frame.
  std::vector<asio::const_buffer> buffers;
  buffers.push_back(asio::buffer(frame->data(), frame->size()));
  auto [wec, written] = co_await stream->write_all(buffers);
  if (wec) {
    co_return make_error(ErrorCode::kUnavailable, server.to_string() + ": " + wec.message());
  }

  FrameReader reader(kafka::kDefaultMaxFrameBytes);
  std::vector<uint8_t> buffer(size_t{64} * 1024);
  for (;;) {
    auto [ec, n] = co_await stream->read_some(buffer);
    if (ec) {
      co_return make_error(ErrorCode::kUnavailable, server.to_string() + ": " + ec.message());
    }
    auto used = reader.consume(std::span<const uint8_t>(buffer.data(), n));
    if (!used.ok()) {
      co_return used.error();
    }
    if (auto next = reader.take()) {
      auto payload = next->payload();
      kafka::Reader r(SharedBytes(std::vector<uint8_t>(payload.begin(), payload.end())));
      kafka::ResponseHeader header;
      if (auto s = header.decode(r, 1); !s.ok()) {
        co_return s;
      }
      kafka::MetadataResponse response;
      if (auto s = response.decode(r, kMetadataVersion); !s.ok()) {
        co_return s;
      }
      if (response.brokers.empty()) {
        co_return make_error(ErrorCode::kUnavailable, server.to_string() + ": no brokers listed");
      }
      for (const auto& broker : response.brokers) {
        map.learn_upstream(broker.node_id, {broker.host, broker.port});
      }
      co_return Status::Ok();
    }
  }
}

}  // namespace

asio::awaitable<Status> discover_brokers(asio::any_io_executor executor,
                                         const UpstreamTarget& bootstrap,
                                         address_rewrite::BrokerAddressMap& map) {
  Status last = make_error(ErrorCode::kUnavailable, "no bootstrap servers");
  for (const auto& server : bootstrap.servers) {
    last = co_await ask(executor, server, bootstrap, map);
    if (last.ok()) {
      co_return last;
    }
  }
  co_return last;
}

}  // namespace kenc::proxy
