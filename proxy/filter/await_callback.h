#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace kenc::proxy {

// Awaits a callback-style operation from a filter coroutine: `start(done)` begins it and `done`
// may be called on any thread (a gRPC thread, another worker), now or later, exactly once; the
// coroutine resumes on `executor`, the connection's thread, never on the caller's.
//
// Built on a timer that never expires on its own (the completion cancels it) rather than on
// async_initiate: GCC 12 destroys lambda captures twice when the initiation is a lambda inside
// a coroutine. For the same reason, callers pass `start` as a named variable, not a temporary
// lambda in the co_await expression.
template <typename T>
asio::awaitable<T> await_callback(asio::any_io_executor executor,
                                  std::function<void(std::function<void(T)>)> start) {
  struct Shared {
    explicit Shared(const asio::any_io_executor& ex)
        : timer(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer timer;
    std::optional<T> value;
  };
  auto shared = std::make_shared<Shared>(executor);
  start([shared, executor](T value) {
    asio::post(executor, [shared, value = std::move(value)]() mutable {
      shared->value.emplace(std::move(value));
      shared->timer.cancel();
    });
  });
  while (!shared->value) {
    co_await shared->timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  co_return std::move(*shared->value);
}

}  // namespace kenc::proxy
