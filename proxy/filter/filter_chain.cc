#include "proxy/filter/filter_chain.h"

namespace kenc::proxy {

bool FilterChain::handles_request(int16_t api_key, int16_t api_version) const {
  for (const auto& f : filters_) {
    if (f->handles_request(api_key, api_version)) {
      return true;
    }
  }
  return false;
}

bool FilterChain::handles_response(int16_t api_key, int16_t api_version) const {
  for (const auto& f : filters_) {
    if (f->handles_response(api_key, api_version)) {
      return true;
    }
  }
  return false;
}

asio::awaitable<RequestVerdict> FilterChain::on_request(const RequestContext& context,
                                                        Frame request) const {
  for (size_t i = 0; i < filters_.size(); ++i) {
    const auto& f = filters_[i];
    if (!f->handles_request(context.api_key, context.api_version)) {
      continue;
    }
    RequestVerdict verdict = co_await f->on_request(context, std::move(request));
    if (auto* answer = std::get_if<AnswerRequest>(&verdict)) {
      // The answer travels back through the filters before this one only.
      Frame response = std::move(answer->response);
      for (size_t j = i; j-- > 0;) {
        if (filters_[j]->handles_response(context.api_key, context.api_version)) {
          response = co_await filters_[j]->on_response(context, std::move(response));
        }
      }
      co_return AnswerRequest{std::move(response)};
    }
    request = std::move(std::get<ForwardRequest>(verdict).request);
  }
  co_return ForwardRequest{std::move(request)};
}

asio::awaitable<Frame> FilterChain::on_response(const RequestContext& context,
                                                Frame response) const {
  for (size_t j = filters_.size(); j-- > 0;) {
    if (filters_[j]->handles_response(context.api_key, context.api_version)) {
      response = co_await filters_[j]->on_response(context, std::move(response));
    }
  }
  co_return response;
}

}  // namespace kenc::proxy
