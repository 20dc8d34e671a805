#include "proxy/server/run_until_signalled.h"

#include <glog/logging.h>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>

namespace kenc::proxy {

int run_until_signalled(ProxyServer& server, const std::function<void()>& on_waiting) {
  asio::io_context signals_context(1);
  asio::signal_set signals(signals_context, SIGTERM, SIGINT);
  int received = 0;
  signals.async_wait([&received](const std::error_code& ec, int signal_number) {
    if (!ec) {
      received = signal_number;
    }
  });
  if (on_waiting) {
    on_waiting();
  }
  signals_context.run();
  LOG(INFO) << "signal " << received << " received: draining " << server.open_connections()
            << " connection(s)";
  server.drain();
  LOG(INFO) << "stopped";
  return 0;
}

}  // namespace kenc::proxy
