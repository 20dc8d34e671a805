#pragma once

#include <functional>

#include "proxy/server/proxy_server.h"

namespace kenc::proxy {

// Runs a started ProxyServer until SIGTERM or SIGINT arrives, then drains it (stops accepting,
// lets open connections finish up to the drain timeout, closes the rest) and returns 0.
// `on_waiting` (optional) runs once the signal handlers are installed; tests use it to send
// the signal. main.cc calls this after building the server from the configuration.
int run_until_signalled(ProxyServer& server, const std::function<void()>& on_waiting = {});

}  // namespace kenc::proxy
