#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kenc::testworld {

// The header of one record batch (magic 2) as the broker stored it in a `.log` segment file:
// what the tests check to prove a proxy kept every batch field and re-applied the codec.
struct StoredBatch {
  int32_t partition = -1;
  int64_t base_offset = 0;
  int32_t length = 0;  // batchLength (bytes after the length field)
  int8_t magic = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  int codec() const { return attributes & 0x7; }  // 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
  bool transactional() const { return (attributes & 0x10) != 0; }
  bool control() const { return (attributes & 0x20) != 0; }
};

// Every batch header in the `.log` segments of `topic` (KafkaCluster::log_dirs()), in file
// order per partition, partitions ascending. Legacy (magic 0/1) entries are reported with their
// magic and offset only.
std::vector<StoredBatch> read_stored_batches(const std::vector<std::string>& log_dirs,
                                             const std::string& topic);

}  // namespace kenc::testworld
