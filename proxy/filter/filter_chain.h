#pragma once

#include <memory>
#include <vector>

#include "proxy/filter/filter.h"

namespace kenc::proxy {

// The ordered filters of a virtual cluster. Requests pass through them first to last,
// responses last to first; a filter that answers a request stops it there, and the response
// then passes back only through the filters before it. An empty chain is a pure pass-through.
class FilterChain {
 public:
  FilterChain() = default;
  explicit FilterChain(std::vector<std::shared_ptr<Filter>> filters)
      : filters_(std::move(filters)) {}

  bool empty() const { return filters_.empty(); }
  bool handles_request(int16_t api_key, int16_t api_version) const;
  bool handles_response(int16_t api_key, int16_t api_version) const;

  // Runs the request filters in order; an answer goes back through the earlier filters.
  asio::awaitable<RequestVerdict> on_request(const RequestContext& context, Frame request) const;
  asio::awaitable<Frame> on_response(const RequestContext& context, Frame response) const;

 private:
  std::vector<std::shared_ptr<Filter>> filters_;
};

}  // namespace kenc::proxy
