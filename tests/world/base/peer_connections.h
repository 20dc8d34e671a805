#pragma once

#include <string>
#include <vector>

namespace kenc::testworld {

// An established TCP connection to a local port and the process that owns its client end.
struct PeerConnection {
  int pid = 0;
  std::string ss_line;  // the `ss` line, for failure messages
};

// Established TCP connections to 127.0.0.1:`port` with their owning processes (from `ss -tnp`).
// Tests use it to prove that a client talked only to the proxy, never to a broker.
std::vector<PeerConnection> connections_to_port(int port);

// /proc/<pid>/<file> with NULs shown as spaces (`cmdline`, `stat`); empty if the process is gone.
std::string read_proc_file(int pid, const std::string& file);

}  // namespace kenc::testworld
