#pragma once

#include <memory>
#include <string>

#include "common/admin/metrics.h"
#include "common/base/fork_join_pool.h"
#include "proxy/config/proxy_config.h"
#include "proxy/filter/filter.h"
#include "proxy/filters/address_rewrite/topic_id_map.h"
#include "proxy/filters/record_encryption/encryption_metrics.h"

namespace kenc::record_encryption {

// Builds a virtual cluster's record-encryption filter from its configuration: the key broker
// client (mutual TLS), the topic policy, the DEK lease pool, the decrypted-DEK cache (with a
// background sweep that drops and wipes idle DEKs) and the metrics. Throws
// config::ConfigError naming `key` (e.g. `virtual_clusters[0].encryption`) when a part cannot
// be built (an unreadable certificate, a bad topic rule). `helpers` (may be null) share the
// decryption of large Fetch responses with the workers. `max_frame_bytes` is the largest frame
// the proxy reads: scaled Fetch limits stay well below it.
std::shared_ptr<proxy::Filter> make_record_encryption_filter(
    const proxy::config::Encryption& config, const std::string& key,
    const std::string& virtual_cluster,
    std::shared_ptr<proxy::address_rewrite::TopicIdMap> topic_ids,
    std::shared_ptr<EncryptionMetricFamilies> metric_families,
    std::shared_ptr<ForkJoinPool> helpers, int32_t max_frame_bytes);

}  // namespace kenc::record_encryption
