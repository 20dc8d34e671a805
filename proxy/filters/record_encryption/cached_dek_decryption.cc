#include "proxy/filters/record_encryption/cached_dek_decryption.h"

#include <algorithm>

#include "common/kafka/records/batch_rewriter.h"
#include "common/kafka/records/record_batch.h"
#include "proxy/filters/record_encryption/aes_context_cache.h"

namespace kenc::record_encryption {
namespace {

using kafka::records::EntryKind;
using kafka::records::RecordsEntry;

struct Partition {
  std::vector<RecordsEntry> entries;
  bool parsed = false;  // false: the records did not parse (the slow path reports them)
};

// Whole batches [first, end) of one partition, and what became of them.
struct Chunk {
  size_t partition = 0;
  size_t first = 0;
  size_t end = 0;
  bool failed = false;
  bool changed = false;
  std::vector<uint8_t> out{};  // when changed: the chunk's records with cipher records decrypted
  uint64_t decrypted = 0;
};

std::span<const uint8_t> chunk_bytes(const Partition& p, const Chunk& c) {
  const uint8_t* begin = p.entries[c.first].bytes.data();
  const auto& last = p.entries[c.end - 1].bytes;
  return {begin, static_cast<size_t>(last.data() + last.size() - begin)};
}

void decrypt_chunk(const Partition& p, Chunk& c, const DecryptTransform::FindDek& find_dek) {
  thread_local kafka::records::BatchRewriter rewriter;
  DecryptTransform transform(find_dek);
  const std::span<const uint8_t> input = chunk_bytes(p, c);
  c.out.reserve(input.size());  // decrypted records are smaller than cipher records
  for (size_t i = c.first; i < c.end; ++i) {
    const RecordsEntry& entry = p.entries[i];
    bool rewritten = false;
    if (entry.kind == EntryKind::kBatch && !entry.batch.header.is_control()) {
      // The partition was parsed without CRC checks (on one thread); each chunk checks its own.
      if (!kafka::records::parse_batch(entry.bytes).ok()) {
        c.failed = true;
        return;
      }
      transform.reset();
      // Appends nothing unless the batch holds cipher records.
      auto r = rewriter.rewrite_values_if_needed(entry.batch, transform, c.out);
      if (!r.ok()) {
        c.failed = true;  // a DEK not cached, or a record that does not decrypt
        return;
      }
      rewritten = *r;
    }
    if (rewritten && !c.changed) {
      // The batches before this one had nothing to decrypt: they go in front of it.
      c.out.insert(c.out.begin(), input.data(), entry.bytes.data());
      c.changed = true;
    } else if (!rewritten && c.changed) {
      c.out.insert(c.out.end(), entry.bytes.begin(), entry.bytes.end());
    }
  }
  c.decrypted = transform.decrypted();
  if (!c.changed) {
    c.out = {};
  }
  // Helpers may sit idle for a long time: free the AES contexts of DEKs dropped meanwhile.
  AesContextCache::for_this_thread().drop_released();
}

}  // namespace

std::vector<CachedDecryptionResult> decrypt_with_cached_deks(
    const std::vector<const SharedBytes*>& partitions, const DecryptTransform::FindDek& find_dek,
    ForkJoinPool* pool, CachedDecryptionStats& stats, const CachedDecryptionOptions& options) {
  std::vector<Partition> parts(partitions.size());
  size_t total = 0;
  size_t partitions_with_records = 0;
  for (size_t i = 0; i < partitions.size(); ++i) {
    parts[i].parsed = kafka::records::parse_records(partitions[i]->view(), parts[i].entries,
                                                    {.verify_crc = false})
                          .ok();
    if (parts[i].parsed && !parts[i].entries.empty()) {
      total += partitions[i]->size();
      ++partitions_with_records;
    }
  }

  const size_t threads = pool == nullptr ? 1 : pool->helpers() + 1;
  const bool split = threads > 1 && total >= options.min_split_bytes;
  // Whole partitions when there are enough to go round: each is decrypted straight into its
  // new records. Fewer partitions than threads are cut into about two chunks per thread, whose
  // outputs are then joined (one more copy, so only when it buys parallelism).
  const size_t target = !split || partitions_with_records >= threads
                            ? SIZE_MAX
                            : std::max(options.min_chunk_bytes, total / (2 * threads));
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Partition& p = parts[i];
    if (!p.parsed || p.entries.empty()) {
      continue;
    }
    size_t bytes = 0;
    Chunk current{.partition = i, .first = 0, .end = 0};
    for (size_t e = 0; e < p.entries.size(); ++e) {
      bytes += p.entries[e].bytes.size();
      current.end = e + 1;
      if (bytes >= target && e + 1 < p.entries.size()) {
        chunks.push_back(std::move(current));
        current = Chunk{.partition = i, .first = e + 1, .end = e + 1};
        bytes = 0;
      }
    }
    chunks.push_back(std::move(current));
  }

  auto run_chunk = [&](size_t c) {
    decrypt_chunk(parts[chunks[c].partition], chunks[c], find_dek);
  };
  if (split && chunks.size() > 1) {
    stats.shared = true;
    pool->run(chunks.size(), run_chunk);
  } else {
    for (size_t c = 0; c < chunks.size(); ++c) {
      run_chunk(c);
    }
  }

  std::vector<CachedDecryptionResult> results(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!parts[i].parsed) {
      results[i].outcome = CachedDecryption::kSlowPath;
    }
  }
  // Chunks are in partition order: gather each partition's run of them.
  for (size_t c = 0; c < chunks.size();) {
    const size_t part = chunks[c].partition;
    size_t end = c;
    bool failed = false;
    bool changed = false;
    size_t bytes = 0;
    uint64_t records = 0;
    for (; end < chunks.size() && chunks[end].partition == part; ++end) {
      failed = failed || chunks[end].failed;
      changed = changed || chunks[end].changed;
      bytes += chunks[end].changed ? chunks[end].out.size()
                                   : chunk_bytes(parts[part], chunks[end]).size();
      records += chunks[end].decrypted;
    }
    CachedDecryptionResult& result = results[part];
    if (failed) {
      result.outcome = CachedDecryption::kSlowPath;
    } else if (changed) {
      result.outcome = CachedDecryption::kDecrypted;
      stats.decrypted += records;
      if (end - c == 1) {
        result.records = SharedBytes(std::move(chunks[c].out));
      } else {
        std::vector<uint8_t> joined;
        joined.reserve(bytes);
        for (size_t k = c; k < end; ++k) {
          const auto piece = chunks[k].changed ? std::span<const uint8_t>(chunks[k].out)
                                               : chunk_bytes(parts[part], chunks[k]);
          joined.insert(joined.end(), piece.begin(), piece.end());
        }
        result.records = SharedBytes(std::move(joined));
      }
    }
    c = end;
  }
  return results;
}

}  // namespace kenc::record_encryption
