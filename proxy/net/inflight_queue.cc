#include "proxy/net/inflight_queue.h"

#include <string>

namespace kenc::proxy {

InFlightQueue::Sequence InFlightQueue::push_forwarded(const InFlightRequest& request) {
  const Sequence seq = head_seq_ + slots_.size();
  slots_.push_back(Slot{request, std::nullopt});
  awaiting_broker_.push_back(Awaiting{seq, false, request.correlation_id});
  return seq;
}

InFlightQueue::Sequence InFlightQueue::push_answered(const InFlightRequest& request,
                                                     Frame response) {
  const Sequence seq = head_seq_ + slots_.size();
  response_bytes_ += response.bytes.size();
  slots_.push_back(Slot{request, std::move(response)});
  return seq;
}

Result<InFlightQueue::Sequence> InFlightQueue::match_broker_response(int32_t correlation_id) {
  if (awaiting_broker_.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "broker sent a response (correlation id " +
                                                       std::to_string(correlation_id) +
                                                       ") while no request was outstanding");
  }
  if (awaiting_broker_.front().own) {
    return make_error(ErrorCode::kInvalidArgument,
                      "broker response correlation id " + std::to_string(correlation_id) +
                          " arrived where the proxy's own request " +
                          std::to_string(awaiting_broker_.front().correlation_id) +
                          " was expected");
  }
  const Sequence seq = awaiting_broker_.front().seq;
  const int32_t expected = request(seq).correlation_id;
  if (expected != correlation_id) {
    return make_error(ErrorCode::kInvalidArgument,
                      "broker response correlation id " + std::to_string(correlation_id) +
                          " does not match the oldest outstanding request " +
                          std::to_string(expected));
  }
  awaiting_broker_.pop_front();
  return seq;
}

void InFlightQueue::push_own(int32_t correlation_id) {
  awaiting_broker_.push_back(Awaiting{0, true, correlation_id});
}

bool InFlightQueue::next_response_is_own() const {
  return !awaiting_broker_.empty() && awaiting_broker_.front().own;
}

Status InFlightQueue::match_own_response(int32_t correlation_id) {
  if (!next_response_is_own()) {
    return make_error(ErrorCode::kInvalidArgument, "no request of the proxy's own is next");
  }
  if (awaiting_broker_.front().correlation_id != correlation_id) {
    return make_error(ErrorCode::kInvalidArgument,
                      "broker response correlation id " + std::to_string(correlation_id) +
                          " does not match the proxy's own request " +
                          std::to_string(awaiting_broker_.front().correlation_id));
  }
  awaiting_broker_.pop_front();
  return Status::Ok();
}

bool InFlightQueue::awaits_correlation_id(int32_t correlation_id) const {
  for (const auto& a : awaiting_broker_) {
    if (a.correlation_id == correlation_id) {
      return true;
    }
  }
  return false;
}

InFlightQueue::Slot* InFlightQueue::find(Sequence seq) {
  if (seq < head_seq_ || seq - head_seq_ >= slots_.size()) {
    return nullptr;
  }
  return &slots_[seq - head_seq_];
}

const InFlightRequest& InFlightQueue::request(Sequence seq) const {
  return slots_.at(seq - head_seq_).request;
}

void InFlightQueue::complete(Sequence seq, Frame response) {
  if (Slot* slot = find(seq)) {
    if (slot->response) {
      response_bytes_ -= slot->response->bytes.size();
    }
    response_bytes_ += response.bytes.size();
    slot->response = std::move(response);
  }
}

bool InFlightQueue::head_ready() const {
  return !slots_.empty() && slots_.front().response.has_value();
}

Frame InFlightQueue::pop_head() {
  Frame out = std::move(*slots_.front().response);
  response_bytes_ -= out.bytes.size();
  slots_.pop_front();
  ++head_seq_;
  return out;
}

}  // namespace kenc::proxy
