#pragma once

#include <asio/awaitable.hpp>

#include "common/base/result.h"
#include "proxy/net/frame_reader.h"

namespace kenc::proxy {

// A filter's way to ask the broker something of its own on the client's upstream connection
// (e.g. a Metadata request for topic ids it cannot name), without the client seeing it.
//
// `send` queues `request` (a whole frame: size prefix, request header, body) behind the
// requests already forwarded and resolves with the broker's response frame. The connection
// replaces the frame's correlation id with one of its own (counting up from INT32_MIN, away from
// the ids clients count up from 0, and never one a request awaiting the broker uses). A broker
// answers a connection's requests in order, so the response is matched by position: even a
// client that later reuses the id cannot get it. It never reaches the client, whose responses
// still leave in request order. Errors: kUnavailable when the connection closes before the response
// arrives.
//
// Sending from on_request delays that request (and those behind it) by one broker round trip;
// the client's earlier requests are unaffected. Valid only while the filter call that received
// the RequestContext runs; never keep the pointer (RequestContext::upstream_handle is the one
// to keep).
class UpstreamChannel {
 public:
  virtual ~UpstreamChannel() = default;
  virtual asio::awaitable<Result<Frame>> send(Frame request) = 0;
};

}  // namespace kenc::proxy
