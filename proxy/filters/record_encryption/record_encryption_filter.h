#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/base/fork_join_pool.h"
#include "proxy/filter/filter.h"
#include "proxy/filters/address_rewrite/topic_id_map.h"
#include "proxy/filters/record_encryption/dek_cache.h"
#include "proxy/filters/record_encryption/dek_lease_pool.h"
#include "proxy/filters/record_encryption/encryption_metrics.h"
#include "proxy/filters/record_encryption/fetch_limit_scaler.h"
#include "proxy/filters/record_encryption/fetch_read_ahead.h"
#include "proxy/filters/record_encryption/topic_policy.h"

namespace kenc::record_encryption {

// What the filter works with; shared by every connection of one virtual cluster.
struct RecordEncryptionDeps {
  std::shared_ptr<const TopicPolicy> policy;
  std::shared_ptr<DekLeasePool> leases;  // produce: DEK leases from the key broker
  std::shared_ptr<DekCache> deks;        // fetch: decrypted DEKs by EDEK
  // Topic ids -> names (Produce v13+, Fetch v13+, ShareFetch), learned from Metadata.
  std::shared_ptr<proxy::address_rewrite::TopicIdMap> topic_ids;
  std::shared_ptr<EncryptionMetrics> metrics;  // may be null (tests)
  // Encrypt record headers together with the value (cipher record format version 2).
  bool encrypt_headers = false;
  // Threads that help the workers decrypt large Fetch responses; may be null (workers alone).
  std::shared_ptr<ForkJoinPool> helpers;
  // Scales Fetch requests' byte limits by what decryption takes off; null: limits untouched.
  std::shared_ptr<FetchLimitScaler> fetch_limits;
  // Fetch read-ahead (FetchReadAhead) within this budget; null: off.
  std::shared_ptr<ReadAheadBudget> read_ahead;
};

// Envelope encryption of record values (docs/architecture.md, docs/cipher-record-format.md).
//
// Produce: each partition of a topic the policy encrypts gets its batches rebuilt with every
// non-null value encrypted under a DEK lease (IVs lease number || counter) and a `kenc` header;
// keys, other headers, timestamps and every batch field stay as they were, the codec is
// re-applied. A partition that cannot be encrypted is never forwarded: it is taken out of the
// request and answered with an error (retriable when the key broker is unavailable, so an
// idempotent producer retries without loss or duplicates; INVALID_RECORD naming the topic when
// the policy rejects it) merged into the broker's response for the other partitions.
//
// Fetch requests: the byte limits of topics whose responses shrink when decrypted are scaled
// up by that much (FetchLimitScaler), so the client receives about what it asked for. With
// read-ahead on, a consumer's next Fetch request is sent and its response decrypted while the
// consumer still processes the last one (FetchReadAhead).
//
// Fetch and ShareFetch: values of cipher records are decrypted and the `kenc` header removed;
// batches without cipher records keep their original bytes. A batch that cannot be decrypted
// cuts the partition's records there: the batches before it are delivered, and when it is the
// first the partition carries an error (UNKNOWN_SERVER_ERROR while the key broker is
// unavailable, so consumers retry; CORRUPT_MESSAGE when the record itself is bad or its KEK is
// gone). The connection stays up; the log names topic, partition and offset.
class RecordEncryptionFilter final : public proxy::Filter {
 public:
  explicit RecordEncryptionFilter(RecordEncryptionDeps deps);

  std::string_view name() const override { return "record-encryption"; }
  bool handles_request(int16_t api_key, int16_t api_version) const override;
  bool handles_response(int16_t api_key, int16_t api_version) const override;

  asio::awaitable<proxy::RequestVerdict> on_request(const proxy::RequestContext& context,
                                                    proxy::Frame request) override;
  asio::awaitable<proxy::Frame> on_response(const proxy::RequestContext& context,
                                            proxy::Frame response) override;

 private:
  struct ProduceFailures;
  struct PartitionOutcome;
  // A fetched partition to decrypt: where its records are, and how to name it in errors.
  struct FetchedPartition {
    std::string topic;
    int32_t partition = 0;
    const SharedBytes* records = nullptr;
  };

  asio::awaitable<PartitionOutcome> encrypt_partition(const proxy::RequestContext& context,
                                                      const std::string& topic,
                                                      const TopicDecision& decision,
                                                      const SharedBytes& records);
  asio::awaitable<proxy::RequestVerdict> on_fetch_request(const proxy::RequestContext& context,
                                                          proxy::Frame request);
  // Scales the byte limits of `fetch`'s encrypted topics (FetchLimitScaler); whether any changed.
  bool scale_fetch_limits(kafka::FetchRequest& fetch, bool by_id) const;
  // The connection's read-ahead (made on first use); null when read-ahead is off.
  std::shared_ptr<FetchReadAhead> read_ahead_of(const proxy::RequestContext& context) const;
  // Sends `next` upstream ahead of the client, when `ahead` takes it (FetchReadAhead::start).
  void read_ahead(const proxy::RequestContext& context,
                  const std::shared_ptr<FetchReadAhead>& ahead, PredictedFetch next);
  asio::awaitable<void> run_read_ahead(std::weak_ptr<proxy::UpstreamChannel> handle,
                                       std::shared_ptr<FetchReadAhead> ahead,
                                       FetchReadAhead::Ticket ticket, proxy::RequestContext context,
                                       PredictedFetch sent, proxy::Frame request);
  void learn_fetch_sizes(const std::vector<std::string>& topics,
                         const std::vector<size_t>& topic_of,
                         const std::vector<FetchedPartition>& partitions,
                         const std::vector<PartitionOutcome>& outcomes) const;
  asio::awaitable<PartitionOutcome> decrypt_partition(const proxy::RequestContext& context,
                                                      const std::string& topic, int32_t partition,
                                                      const SharedBytes& records);
  asio::awaitable<std::vector<PartitionOutcome>> decrypt_partitions(
      const proxy::RequestContext& context, const std::vector<FetchedPartition>& partitions);
  // Decrypts a Fetch response. With `request` (the request it answers, as the client sent it),
  // also says in `follow` what it means for read-ahead.
  asio::awaitable<proxy::Frame> on_fetch_response(const proxy::RequestContext& context,
                                                  proxy::Frame response,
                                                  const kafka::FetchRequest* request = nullptr,
                                                  FetchFollowUp* follow = nullptr);
  asio::awaitable<proxy::Frame> on_share_fetch_response(const proxy::RequestContext& context,
                                                        proxy::Frame response);
  proxy::Frame merge_produce_failures(const proxy::RequestContext& context, proxy::Frame response,
                                      const ProduceFailures& failures);

  RecordEncryptionDeps deps_;
};

}  // namespace kenc::record_encryption
