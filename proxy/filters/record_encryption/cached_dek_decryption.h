#pragma once

#include <cstdint>
#include <vector>

#include "common/base/fork_join_pool.h"
#include "common/base/shared_bytes.h"
#include "proxy/filters/record_encryption/record_transforms.h"

namespace kenc::record_encryption {

// The fast path of decrypting a Fetch response: everything that needs no wait and no error
// report, split between the worker and a ForkJoinPool's helpers.
//
// A consumer fetches one response at a time and waits while the proxy decrypts it, so the
// decryption time adds to every fetch round trip; sharing it between cores shortens that wait
// (docs/benchmarks.md). The caller (a worker thread) does part of the work itself, so a busy pool
// only means the worker does it all, as without one.
//
// The unit of work is a whole partition, decrypted straight into its new records. Only a large
// response with fewer partitions than threads has its partitions cut into chunks of whole
// batches, joined afterwards (one more copy; crypto_bench FetchResponseDecrypt measures both).
// Everything is decrypted with DEKs already in the cache. A partition in which anything is not
// plain sailing (a DEK not cached, a batch that does not decrypt, records that do not parse, a
// bad CRC) is reported kSlowPath, with no partial result: the caller runs it through the path
// that waits for DEKs and reports failures.
enum class CachedDecryption : uint8_t {
  kUnchanged,  // no cipher records: forward the partition's records as they are
  kDecrypted,  // `records` holds the decrypted records
  kSlowPath,
};

struct CachedDecryptionResult {
  CachedDecryption outcome = CachedDecryption::kUnchanged;
  SharedBytes records;
};

struct CachedDecryptionOptions {
  // Responses with fewer bytes to decrypt than this are not split (handing work to another
  // thread costs a few microseconds).
  size_t min_split_bytes = size_t{256} * 1024;
  // The smallest chunk a partition is cut into when splitting.
  size_t min_chunk_bytes = size_t{64} * 1024;
};

struct CachedDecryptionStats {
  uint64_t decrypted = 0;  // records decrypted in partitions reported kDecrypted
  bool shared = false;     // the work was offered to the pool's helpers
};

// Decrypts `partitions` (each a partition's records field), returning one result per partition
// in the same order. `pool` may be null (everything on the calling thread). `stats` is added to.
std::vector<CachedDecryptionResult> decrypt_with_cached_deks(
    const std::vector<const SharedBytes*>& partitions, const DecryptTransform::FindDek& find_dek,
    ForkJoinPool* pool, CachedDecryptionStats& stats, const CachedDecryptionOptions& options = {});

}  // namespace kenc::record_encryption
