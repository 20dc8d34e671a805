#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "common/base/result.h"
#include "proxy/filter/request_state.h"
#include "proxy/net/frame_reader.h"

namespace kenc::proxy {

// What the proxy remembers about a request that still owes the client a response.
struct InFlightRequest {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::chrono::steady_clock::time_point received_at{};
  // What request filters left for the response filters (null when no filter saw the request).
  std::shared_ptr<RequestState> filter_state = nullptr;
};

// The FIFO of a connection's requests that expect a response. Kafka clients rely on responses
// arriving in request order; a filter may finish a later response before an earlier one, so a
// response is parked in its request's slot and the client only ever gets the oldest slot, once
// it is complete. Requests forwarded upstream are also matched to broker responses here: a
// broker answers one connection's requests in order, so a response must carry the correlation
// id of the oldest forwarded request that is still unanswered.
//
// Not thread-safe: a connection and its queue live on one worker thread.
class InFlightQueue {
 public:
  using Sequence = uint64_t;

  explicit InFlightQueue(size_t capacity) : capacity_(capacity) {}

  size_t size() const { return slots_.size(); }
  bool full() const { return slots_.size() >= capacity_; }
  bool empty() const { return slots_.empty(); }
  // Bytes of the responses held in slots, waiting for the client to take them.
  size_t response_bytes() const { return response_bytes_; }

  // Adds a request that will be answered by the broker.
  Sequence push_forwarded(const InFlightRequest& request);
  // Adds a request that the proxy answers itself (e.g. a filter's error response).
  Sequence push_answered(const InFlightRequest& request, Frame response);

  // Matches a broker response to the oldest forwarded, unanswered request. Errors when none
  // is outstanding or the correlation id differs (the connection is then unusable).
  Result<Sequence> match_broker_response(int32_t correlation_id);

  // A request the proxy sent upstream on its own (UpstreamChannel): it takes its place in the
  // broker's response order but owes the client nothing, so it has no slot.
  void push_own(int32_t correlation_id);
  // Whether the oldest outstanding broker request is one of the proxy's own; its response is
  // then matched with match_own_response instead of match_broker_response.
  bool next_response_is_own() const;
  Status match_own_response(int32_t correlation_id);
  // Whether some request awaiting the broker (the client's or the proxy's) uses this id.
  bool awaits_correlation_id(int32_t correlation_id) const;

  // The request in a slot (valid until the slot is popped).
  const InFlightRequest& request(Sequence seq) const;

  // Stores the response of a slot; slots may complete in any order. A slot that was already
  // popped (cannot happen in a correct caller) is ignored.
  void complete(Sequence seq, Frame response);

  // Whether the oldest slot holds its response, and takes it out.
  bool head_ready() const;
  const InFlightRequest& head_request() const { return slots_.front().request; }
  Frame pop_head();

 private:
  struct Slot {
    InFlightRequest request;
    std::optional<Frame> response;
  };
  Slot* find(Sequence seq);

  size_t capacity_;
  size_t response_bytes_ = 0;
  std::deque<Slot> slots_;
  Sequence head_seq_ = 0;  // sequence number of slots_.front()
  struct Awaiting {
    Sequence seq = 0;            // the client's slot (unused for the proxy's own requests)
    bool own = false;            // a request of the proxy's own
    int32_t correlation_id = 0;  // of an own request
  };
  std::deque<Awaiting> awaiting_broker_;  // forwarded requests, oldest first
};

}  // namespace kenc::proxy
