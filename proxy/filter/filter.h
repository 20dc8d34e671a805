#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "proxy/filter/request_state.h"
#include "proxy/filter/upstream_channel.h"
#include "proxy/net/frame_reader.h"

namespace kenc::proxy {

// Which request a filter is looking at. Stable for the request and its response.
struct RequestContext {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::string virtual_cluster;  // name of the virtual cluster the client connected to
  // The connection's executor (its worker's io_context). A filter that waits on something
  // running elsewhere (a key-broker call on a gRPC thread, a cache fill) resumes its coroutine
  // here, e.g. by completing through `asio::post(executor, ...)`; it never blocks the thread.
  asio::any_io_executor executor;
  // Per-request memory shared by on_request and on_response of the same request (see
  // RequestState). Set for every request some filter handles; null otherwise.
  std::shared_ptr<RequestState> state;
  // The client connection's upstream, for requests of the filter's own (see UpstreamChannel).
  // Null outside a connection (e.g. in unit tests that do not provide one).
  UpstreamChannel* upstream = nullptr;
  // What filters keep for as long as the client's connection lives (e.g. a response read
  // ahead), keyed by filter like `state`. Null outside a connection.
  RequestState* connection_state = nullptr;
  // The same upstream as `upstream`, for work that outlives the filter call (a request sent
  // ahead of the client's): lock it for each use; it is expired once the connection is gone.
  std::weak_ptr<UpstreamChannel> upstream_handle{};
};

// A filter's decision about a request.
struct ForwardRequest {
  Frame request;  // forwarded to the broker (the original frame, or a re-encoded one)
};
struct AnswerRequest {
  Frame response;  // sent to the client instead of forwarding (e.g. an error response)
};
using RequestVerdict = std::variant<ForwardRequest, AnswerRequest>;

// A filter of the proxy's data path (the record-encryption filter is one).
//
// Contract:
//  * `handles_request`/`handles_response` say which API keys and versions the filter wants.
//    Everything else never reaches it and is forwarded as its original bytes. They are called
//    for every request, on any worker thread: make them cheap and thread-safe (a table lookup).
//  * `on_request` receives a request frame (size prefix + header + body) and returns what to
//    do with it. `on_response` receives the broker's response frame to a request the filter
//    handled and returns the frame to send to the client. Frames are whole Kafka frames; decode
//    them with the generated codec in common/kafka/protocol/ and re-encode with make_frame()
//    when the body changes (keep the correlation id).
//  * Both are coroutines on the connection's worker thread. They may suspend for as long as
//    they like (awaiting a key broker) without blocking the thread; other connections on the
//    worker keep running. Requests of one connection are filtered one at a time, in order;
//    responses may be filtered concurrently and finish in any order: the connection still
//    returns them to the client in request order.
//  * An error is returned as a Kafka error response (AnswerRequest / a rewritten response) so
//    the connection stays up. Throwing from a filter closes the client's connection.
//  * Produce requests with acks=0 get no response from the broker; a filter must not answer
//    them either (the proxy drops such an answer, since the client waits for none).
//  * One filter instance serves every connection of a virtual cluster, concurrently from all
//    worker threads: per-request state belongs in the coroutine or `state`, per-connection
//    state in `connection_state`, and shared state needs locks or atomics.
class Filter {
 public:
  virtual ~Filter() = default;

  virtual std::string_view name() const = 0;
  virtual bool handles_request(int16_t api_key, int16_t api_version) const = 0;
  virtual bool handles_response(int16_t api_key, int16_t api_version) const = 0;

  virtual asio::awaitable<RequestVerdict> on_request(const RequestContext& context,
                                                     Frame request) = 0;
  virtual asio::awaitable<Frame> on_response(const RequestContext& context, Frame response) = 0;
};

}  // namespace kenc::proxy
