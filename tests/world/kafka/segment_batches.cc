#include "tests/world/kafka/segment_batches.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace kenc::testworld {
namespace fs = std::filesystem;
namespace {

// Big-endian integer at `at` (the caller checked the bounds).
template <typename T>
T be(const std::string& data, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = (v << 8) | static_cast<uint8_t>(data[at + i]);
  return static_cast<T>(v);
}

// The partition number of `<topic>-<digits>`, or -1 when the folder belongs to another topic.
int32_t partition_of(const fs::path& dir, const std::string& topic) {
  const std::string name = dir.filename().string();
  if (name.size() <= topic.size() + 1 || name.compare(0, topic.size(), topic) != 0 ||
      name[topic.size()] != '-') {
    return -1;
  }
  const std::string digits = name.substr(topic.size() + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoi(digits);
}

}  // namespace

std::vector<StoredBatch> read_stored_batches(const std::vector<std::string>& log_dirs,
                                             const std::string& topic) {
  std::vector<StoredBatch> out;
  for (const auto& log_dir : log_dirs) {
    if (!fs::is_directory(log_dir)) continue;
    for (const auto& dir : fs::directory_iterator(log_dir)) {
      const int32_t partition = dir.is_directory() ? partition_of(dir.path(), topic) : -1;
      if (partition < 0) continue;
      std::vector<fs::path> segments;
      for (const auto& e : fs::directory_iterator(dir.path())) {
        if (e.path().extension() == ".log") segments.push_back(e.path());
      }
      std::sort(segments.begin(), segments.end());  // names are the zero-padded base offsets
      for (const auto& segment : segments) {
        std::ifstream in(segment, std::ios::binary);
        const std::string data((std::istreambuf_iterator<char>(in)), {});
        // baseOffset(8) batchLength(4) partitionLeaderEpoch(4) magic(1) crc(4) attributes(2)
        // lastOffsetDelta(4) baseTimestamp(8) maxTimestamp(8) producerId(8) producerEpoch(2)
        // baseSequence(4) recordCount(4) = 61 bytes of header.
        for (size_t at = 0; at + 17 <= data.size();) {
          StoredBatch b;
          b.partition = partition;
          b.base_offset = be<int64_t>(data, at);
          b.length = be<int32_t>(data, at + 8);
          b.magic = be<int8_t>(data, at + 16);
          if (b.length <= 0 || at + 12 + static_cast<size_t>(b.length) > data.size()) break;
          if (b.magic == 2 && at + 61 <= data.size()) {
            b.attributes = be<int16_t>(data, at + 21);
            b.last_offset_delta = be<int32_t>(data, at + 23);
            b.base_timestamp = be<int64_t>(data, at + 27);
            b.max_timestamp = be<int64_t>(data, at + 35);
            b.producer_id = be<int64_t>(data, at + 43);
            b.producer_epoch = be<int16_t>(data, at + 51);
            b.base_sequence = be<int32_t>(data, at + 53);
            b.record_count = be<int32_t>(data, at + 57);
          }
          out.push_back(b);
          at += 12 + static_cast<size_t>(b.length);
        }
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const StoredBatch& a, const StoredBatch& b) {
    return a.partition < b.partition;
  });
  return out;
}

}  // namespace kenc::testworld
