#include "tests/world/kafka/segment_scan.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>

namespace kenc::testworld {
namespace fs = std::filesystem;

namespace {

// `<topic>-<digits>`: the folder of one partition of exactly this topic (not of "<topic>-x-0").
bool is_partition_dir_of(const fs::path& dir, const std::string& topic) {
  const std::string name = dir.filename().string();
  if (name.size() <= topic.size() + 1 || name.compare(0, topic.size(), topic) != 0 ||
      name[topic.size()] != '-') {
    return false;
  }
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(topic.size()) + 1, name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool SegmentScan::found(size_t needle) const {
  return std::any_of(matches.begin(), matches.end(),
                     [needle](const Match& m) { return m.needle == needle; });
}

std::string SegmentScan::describe(const std::vector<std::string>& needles) const {
  std::string out;
  for (const auto& m : matches) {
    if (!out.empty()) out += "; ";
    std::string shown = m.needle < needles.size() ? needles[m.needle].substr(0, 40) : "?";
    out += "needle " + std::to_string(m.needle) + " (\"" + shown + "\") at " + m.file + "+" +
           std::to_string(m.offset);
  }
  return out.empty() ? "no matches" : out;
}

SegmentScan scan_segments(const std::vector<std::string>& log_dirs, const std::string& topic,
                          const std::vector<std::string>& needles) {
  for (const auto& n : needles) {
    if (n.empty()) throw std::invalid_argument("scan_segments: empty byte string");
  }
  SegmentScan scan;
  for (const auto& log_dir : log_dirs) {
    if (!fs::is_directory(log_dir)) continue;
    for (const auto& partition : fs::directory_iterator(log_dir)) {
      if (!partition.is_directory() || !is_partition_dir_of(partition.path(), topic)) continue;
      for (const auto& entry : fs::directory_iterator(partition.path())) {
        if (entry.path().extension() != ".log") continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string data((std::istreambuf_iterator<char>(in)), {});
        ++scan.files;
        scan.bytes += data.size();
        for (size_t i = 0; i < needles.size(); ++i) {
          const std::boyer_moore_horspool_searcher search(needles[i].begin(), needles[i].end());
          for (auto it = data.begin();;) {
            auto hit = std::search(it, data.end(), search);
            if (hit == data.end()) break;
            scan.matches.push_back(
                {entry.path().string(), static_cast<uint64_t>(hit - data.begin()), i});
            it = hit + 1;
          }
        }
      }
    }
  }
  return scan;
}

}  // namespace kenc::testworld
