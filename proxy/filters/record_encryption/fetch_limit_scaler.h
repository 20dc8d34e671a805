#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace kenc::record_encryption {

// Keeps a consumer's fetch byte limits about what the consumer receives.
//
// Why: a cipher record is bigger than the value the consumer gets back (the EDEK, IV, tag and
// header: about 100 bytes a record). The broker fills a Fetch response up to the request's
// byte limits (fetch.max.bytes, max.partition.fetch.bytes) in the bytes it stores, so after
// decryption the consumer receives fewer records per fetch than it asked for: with 100-byte
// values about half as many, and it needs twice the fetches, each a round trip and a broker
// read. The scaler learns per topic how much bigger the broker's bytes are than the bytes
// delivered (an average over the responses decrypted), and the Fetch requests' limits for that
// topic are multiplied by it, so a decrypted response comes close to the client's limits again.
//
// Thread-safe: one scaler serves every connection of a virtual cluster.
class FetchLimitScaler {
 public:
  struct Options {
    // The largest factor a limit is multiplied by; 1 turns scaling off. A topic whose records
    // suddenly carry less overhead (bigger values) gets at most this much more than its limit
    // in one response before the factor follows.
    double max_factor = 4.0;
    // Scaled limits stay at or below this, so a broker response never outgrows the largest
    // frame the proxy accepts; limits already above it are left as the client sent them.
    int32_t max_scaled_bytes = 75 * 1024 * 1024;
    // Topics remembered; when full, the table starts over (the factors are relearned).
    size_t max_topics = 10000;
  };

  explicit FetchLimitScaler(Options options);

  bool enabled() const { return options_.max_factor > 1.0; }

  // A partition response of `topic` (a name, or a topic id's 16 bytes as key_of_id() makes
  // them): `broker_bytes` of records came from the broker, `delivered_bytes` went to the client.
  void observe(const std::string& topic, uint64_t broker_bytes, uint64_t delivered_bytes);

  // What the limits for `topic` are multiplied by: 1 for a topic not seen yet.
  double factor(const std::string& topic) const;

  // `limit` times `factor`, within [limit, max_scaled_bytes] (limit itself when it is above).
  int32_t scale(int32_t limit, double factor) const;

  // The key of a topic known only by id (Fetch v13+); cannot collide with a topic name.
  static std::string key_of_id(const uint8_t* id16);

 private:
  Options options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, double> factors_;
};

}  // namespace kenc::record_encryption
