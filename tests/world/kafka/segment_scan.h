#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kenc::testworld {

// What a scan of a topic's segment files found. `files` and `bytes` show that the scan really
// read data (a scan of nothing finds nothing, which proves nothing).
struct SegmentScan {
  struct Match {
    std::string file;     // path of the .log segment
    uint64_t offset = 0;  // byte offset inside it
    size_t needle = 0;    // index into the searched byte strings
  };
  size_t files = 0;
  uint64_t bytes = 0;
  std::vector<Match> matches;

  bool found(size_t needle) const;
  // "needle 0 ("secret-1") at /.../00000000000000000000.log+123; ..." for failure messages.
  std::string describe(const std::vector<std::string>& needles) const;
};

// Searches every segment file (`<log dir>/<topic>-<partition>/*.log`) of `topic` in the given
// log dirs (KafkaCluster::log_dirs()) for each byte string. The "no plaintext on disk" check of
// the encryption tests: produce through the proxy, then expect no match for any value.
// Throws std::invalid_argument on an empty needle.
SegmentScan scan_segments(const std::vector<std::string>& log_dirs, const std::string& topic,
                          const std::vector<std::string>& needles);

}  // namespace kenc::testworld
