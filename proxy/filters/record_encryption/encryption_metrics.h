#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "common/admin/metrics.h"

namespace kenc::record_encryption {

// Why a partition of a Produce request or Fetch response was not passed on as it came.
enum class PartitionFailure : uint8_t {
  kKeyBrokerUnavailable,  // key broker or KMS down, or a deadline passed: retriable
  kKekNotFound,           // the KEK alias does not resolve (unresolved_kek: reject)
  kPermissionDenied,      // the key broker refuses this proxy's identity
  kRejectedTopic,         // no rule matches the topic (unmatched_topic: reject)
  kUnknownTopicId,        // Produce v13+ with a topic id the proxy cannot name yet
  kInvalidRecords,        // records the proxy refuses to encrypt (legacy format, reserved header)
  kUndecryptable,         // a cipher record that does not decrypt (bad tag, unknown KEK, garbage)
  kCount
};

const char* partition_failure_name(PartitionFailure failure);

// How a Fetch read-ahead ended (FetchReadAhead).
enum class ReadAheadOutcome : uint8_t {
  kUsed,        // answered the consumer's request
  kMismatched,  // the consumer asked for something else
  kUnservable,  // the broker's response could not answer the request (no records, an error)
  kStale,       // held longer than FetchReadAhead::kMaxHoldTime
  kCount
};

const char* read_ahead_outcome_name(ReadAheadOutcome outcome);

// The metric families of the filter (kenc_proxy_encryption_*), registered once per process.
// Holds the registry, so the counters outlive every filter and in-flight call that uses them.
struct EncryptionMetricFamilies {
  explicit EncryptionMetricFamilies(std::shared_ptr<admin::MetricsRegistry> registry);

  std::shared_ptr<admin::MetricsRegistry> registry;
  admin::CounterFamily& records;
  admin::CounterFamily& plaintext_bytes;
  admin::CounterFamily& added_bytes;
  admin::CounterFamily& passthrough;
  admin::CounterFamily& leases;
  admin::CounterFamily& unwraps;
  admin::CounterFamily& lease_waits;
  admin::CounterFamily& shared_decryptions;
  admin::CounterFamily& produce_errors;
  admin::CounterFamily& fetch_errors;
  admin::CounterFamily& read_aheads;
};

// One virtual cluster's series of those families. Lock-free on the hot path.
class EncryptionMetrics {
 public:
  EncryptionMetrics(std::shared_ptr<EncryptionMetricFamilies> families,
                    const std::string& virtual_cluster);

  void encrypted(uint64_t records, uint64_t plaintext_bytes, uint64_t added_bytes);
  void decrypted(uint64_t records) { decrypted_records_.inc(records); }
  void produce_failure(PartitionFailure f) { produce_failures_[static_cast<size_t>(f)]->inc(); }
  void fetch_failure(PartitionFailure f) { fetch_failures_[static_cast<size_t>(f)]->inc(); }
  void plaintext_passthrough() { passthrough_.inc(); }
  void lease(bool ok) { (ok ? leases_ok_ : leases_failed_).inc(); }
  void unwrap(bool ok) { (ok ? unwraps_ok_ : unwraps_failed_).inc(); }
  void lease_wait() { lease_waits_.inc(); }
  void shared_decryption() { shared_decryptions_.inc(); }
  void read_ahead(ReadAheadOutcome outcome) { read_aheads_[static_cast<size_t>(outcome)]->inc(); }

 private:
  std::shared_ptr<EncryptionMetricFamilies> families_;
  admin::Counter& encrypted_records_;
  admin::Counter& decrypted_records_;
  admin::Counter& plaintext_bytes_;
  admin::Counter& added_bytes_;
  admin::Counter& passthrough_;
  admin::Counter& leases_ok_;
  admin::Counter& leases_failed_;
  admin::Counter& unwraps_ok_;
  admin::Counter& unwraps_failed_;
  admin::Counter& lease_waits_;
  admin::Counter& shared_decryptions_;
  std::array<admin::Counter*, static_cast<size_t>(PartitionFailure::kCount)> produce_failures_{};
  std::array<admin::Counter*, static_cast<size_t>(PartitionFailure::kCount)> fetch_failures_{};
  std::array<admin::Counter*, static_cast<size_t>(ReadAheadOutcome::kCount)> read_aheads_{};
};

}  // namespace kenc::record_encryption
