#include "tests/world/base/peer_connections.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/world/base/process.h"

namespace kenc::testworld {

std::vector<PeerConnection> connections_to_port(int port) {
  auto result = run_command(
      {"ss", "-tnpH", "state", "established", "( dport = :" + std::to_string(port) + " )"});
  if (result.exit_code != 0) throw std::runtime_error("ss failed: " + result.output);
  std::vector<PeerConnection> out;
  std::istringstream in(result.output);
  for (std::string line; std::getline(in, line);) {
    for (size_t pos = line.find("pid="); pos != std::string::npos; pos = line.find("pid=", pos)) {
      pos += 4;
      out.push_back({std::stoi(line.substr(pos)), line});
    }
  }
  return out;
}

std::string read_proc_file(int pid, const std::string& file) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), {});
  std::replace(s.begin(), s.end(), '\0', ' ');
  return s;
}

}  // namespace kenc::testworld
