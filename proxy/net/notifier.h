#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace kenc::proxy {

// Wakes one coroutine waiting for a condition to change, on a single-threaded executor.
// The waiter re-checks its condition in a loop: `while (!cond) co_await n.wait();`. Because
// the check and the wait happen without a suspension in between, no notification is lost.
class Notifier {
 public:
  explicit Notifier(const asio::any_io_executor& executor) : timer_(executor) {}

  asio::awaitable<void> wait() {
    timer_.expires_at(asio::steady_timer::time_point::max());
    co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  void notify() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

}  // namespace kenc::proxy
