#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kenc::proxy {

struct HostPort {
  std::string host;
  uint16_t port = 0;

  std::string to_string() const;
  bool operator==(const HostPort&) const = default;
};

// Parses "host:port" or "[v6-address]:port". Empty optional when malformed or the port is not
// 1..65535 (0 is accepted only when `allow_port_zero`, meaning "any free port", for tests).
std::optional<HostPort> parse_host_port(std::string_view text, bool allow_port_zero = false);

}  // namespace kenc::proxy
