#include "proxy/filters/record_encryption/encryption_metrics.h"

namespace kenc::record_encryption {

const char* partition_failure_name(PartitionFailure failure) {
  switch (failure) {
    case PartitionFailure::kKeyBrokerUnavailable:
      return "key_broker_unavailable";
    case PartitionFailure::kKekNotFound:
      return "kek_not_found";
    case PartitionFailure::kPermissionDenied:
      return "permission_denied";
    case PartitionFailure::kRejectedTopic:
      return "rejected_topic";
    case PartitionFailure::kUnknownTopicId:
      return "unknown_topic_id";
    case PartitionFailure::kInvalidRecords:
      return "invalid_records";
    case PartitionFailure::kUndecryptable:
      return "undecryptable";
    case PartitionFailure::kCount:
      break;
  }
  return "unknown";
}

const char* read_ahead_outcome_name(ReadAheadOutcome outcome) {
  switch (outcome) {
    case ReadAheadOutcome::kUsed:
      return "used";
    case ReadAheadOutcome::kMismatched:
      return "mismatched";
    case ReadAheadOutcome::kUnservable:
      return "unservable";
    case ReadAheadOutcome::kStale:
      return "stale";
    case ReadAheadOutcome::kCount:
      break;
  }
  return "unknown";
}

EncryptionMetricFamilies::EncryptionMetricFamilies(std::shared_ptr<admin::MetricsRegistry> reg)
    : registry(std::move(reg)),
      records(registry->counter_family("kenc_proxy_encryption_records_total",
                                       "Record values encrypted on produce and decrypted on fetch.",
                                       {"virtual_cluster", "operation"})),
      plaintext_bytes(registry->counter_family("kenc_proxy_encryption_plaintext_bytes_total",
                                               "Bytes of record values encrypted.",
                                               {"virtual_cluster"})),
      added_bytes(registry->counter_family(
          "kenc_proxy_encryption_added_bytes_total",
          "Bytes added to records by encryption (cipher record overhead and the kenc header).",
          {"virtual_cluster"})),
      passthrough(registry->counter_family(
          "kenc_proxy_encryption_unresolved_kek_passthrough_total",
          "Produce partitions forwarded in plaintext because their KEK does not exist and "
          "unresolved_kek is passthrough.",
          {"virtual_cluster"})),
      leases(registry->counter_family("kenc_proxy_encryption_dek_leases_total",
                                      "DEK leases requested from the key broker, by outcome.",
                                      {"virtual_cluster", "outcome"})),
      unwraps(registry->counter_family(
          "kenc_proxy_encryption_dek_unwraps_total",
          "EDEK unwraps requested from the key broker (DEK cache misses), by outcome.",
          {"virtual_cluster", "outcome"})),
      lease_waits(registry->counter_family(
          "kenc_proxy_encryption_lease_waits_total",
          "Produce partitions that waited for a DEK lease (the first of a KEK, or after an "
          "outage); in steady state leases are renewed ahead and this stays flat.",
          {"virtual_cluster"})),
      shared_decryptions(registry->counter_family(
          "kenc_proxy_encryption_shared_decryptions_total",
          "Fetch responses whose decryption the worker shared with helper threads "
          "(helper_threads; responses with 256 KiB or more to decrypt).",
          {"virtual_cluster"})),
      produce_errors(registry->counter_family(
          "kenc_proxy_encryption_produce_partition_errors_total",
          "Produce partitions answered with an error instead of being forwarded, by reason.",
          {"virtual_cluster", "reason"})),
      fetch_errors(registry->counter_family(
          "kenc_proxy_encryption_fetch_partition_errors_total",
          "Fetch partitions whose records could not be decrypted, by reason.",
          {"virtual_cluster", "reason"})),
      read_aheads(registry->counter_family(
          "kenc_proxy_encryption_fetch_read_aheads_total",
          "Fetch requests the proxy sent ahead of a consumer, by how they ended: used (they "
          "answered the consumer's request), mismatched (the consumer asked for something "
          "else), unservable (no records or an error), stale (not asked for within a second).",
          {"virtual_cluster", "outcome"})) {}

EncryptionMetrics::EncryptionMetrics(std::shared_ptr<EncryptionMetricFamilies> families,
                                     const std::string& vc)
    : families_(std::move(families)),
      encrypted_records_(families_->records.with({vc, "encrypt"})),
      decrypted_records_(families_->records.with({vc, "decrypt"})),
      plaintext_bytes_(families_->plaintext_bytes.with({vc})),
      added_bytes_(families_->added_bytes.with({vc})),
      passthrough_(families_->passthrough.with({vc})),
      leases_ok_(families_->leases.with({vc, "granted"})),
      leases_failed_(families_->leases.with({vc, "failed"})),
      unwraps_ok_(families_->unwraps.with({vc, "ok"})),
      unwraps_failed_(families_->unwraps.with({vc, "failed"})),
      lease_waits_(families_->lease_waits.with({vc})),
      shared_decryptions_(families_->shared_decryptions.with({vc})) {
  EncryptionMetricFamilies& f = *families_;
  for (size_t i = 0; i < produce_failures_.size(); ++i) {
    const char* reason = partition_failure_name(static_cast<PartitionFailure>(i));
    produce_failures_[i] = &f.produce_errors.with({vc, reason});
    fetch_failures_[i] = &f.fetch_errors.with({vc, reason});
  }
  for (size_t i = 0; i < read_aheads_.size(); ++i) {
    read_aheads_[i] =
        &f.read_aheads.with({vc, read_ahead_outcome_name(static_cast<ReadAheadOutcome>(i))});
  }
}

void EncryptionMetrics::encrypted(uint64_t records, uint64_t plaintext_bytes,
                                  uint64_t added_bytes) {
  encrypted_records_.inc(records);
  plaintext_bytes_.inc(plaintext_bytes);
  added_bytes_.inc(added_bytes);
}

}  // namespace kenc::record_encryption
