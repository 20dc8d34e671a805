#pragma once

#include <array>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/kafka/protocol/generated/fetch_request.h"
#include "common/kafka/protocol/generated/fetch_response.h"
#include "proxy/filters/record_encryption/encryption_metrics.h"
#include "proxy/net/frame_reader.h"
#include "proxy/net/notifier.h"

namespace kenc::record_encryption {

// Fetch read-ahead (docs/record-encryption.md#fetch-read-ahead).
//
// A consumer that is behind sends its next Fetch request only once it has processed the
// records of the last response. Through an encrypting proxy that request then also waits for
// the proxy to decrypt the next response. Read-ahead hides that wait: right after a response
// that leaves the consumer behind, the proxy sends the request the consumer will send next
// (the same partitions at the offsets after the records just delivered) on the consumer's own
// broker connection, decrypts the response while the consumer processes the last one, and
// answers the consumer's request from it when it comes as predicted (its partitions in any order:
// consumers take a response's partitions as a set, not a list). Any other request
// drops what was read ahead and goes to the broker as usual.
//
// Fetch sessions (KIP-227) would let the broker's view of the consumer's partitions drift from
// the consumer's when the proxy fetches on its own, so read-ahead applies to sessionless
// fetches only. A full Fetch request that asks for a new session (session id 0, epoch 0) for
// at most kMaxSessionlessPartitions partitions is sent sessionless instead (epoch -1): the
// broker then creates no session, answers with session id 0, and the consumer keeps sending
// full requests, as it does when a broker's session cache is full. Consumers of more
// partitions keep their session, and with it the smaller incremental requests.

// The most partitions of a full Fetch request that the proxy makes sessionless.
inline constexpr size_t kMaxSessionlessPartitions = 64;

// Makes a full Fetch request that asks for a new session sessionless, when it has at most
// kMaxSessionlessPartitions partitions. Returns whether the request changed.
bool make_sessionless(kafka::FetchRequest& request);
bool is_sessionless(const kafka::FetchRequest& request);

// Whether two Fetch requests ask for the same thing: only max_wait_ms and the order of topics
// and partitions may differ.
bool same_fetch(const kafka::FetchRequest& a, const kafka::FetchRequest& b);
// Puts `request`'s topics and partitions in the order `like` has them (others last). A
// prediction follows the consumer's latest order: librdkafka rotates the partitions of its
// requests so that none is always last to fill the response.
void order_like(kafka::FetchRequest& request, const kafka::FetchRequest& like);

// What a (decrypted) Fetch response means for read-ahead.
struct FetchFollowUp {
  // The response may answer a request read ahead: no error anywhere, no redirection to
  // another replica, no diverging epoch, and records for at least one partition, at least
  // min_bytes of them.
  bool servable = false;
  // The request the consumer will send after processing this response, when reading it ahead
  // is worth it: the response is servable, filled at least half of a byte limit (so the
  // consumer is behind and more records wait), was not throttled, and every partition with
  // records ends in a whole batch (whose next offset is where the consumer goes on).
  std::optional<kafka::FetchRequest> next;
};
// `version` is the requests' and the response's.
FetchFollowUp follow_up(const kafka::FetchRequest& request, const kafka::FetchResponse& response,
                        int16_t version);

// The bytes that one virtual cluster's connections hold in responses read ahead, together.
class ReadAheadBudget {
 public:
  explicit ReadAheadBudget(size_t max_bytes) : max_bytes_(max_bytes) {}
  bool try_reserve(size_t bytes);
  void release(size_t bytes) { in_use_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }

 private:
  const size_t max_bytes_;
  std::atomic<size_t> in_use_{0};
};

// The next request a consumer is predicted to send, and what sending it upstream takes.
struct PredictedFetch {
  std::vector<uint8_t> header;  // the consumer's request header bytes (without the size)
  kafka::FetchRequest request;  // as the consumer will send it (sessionless, its own limits)
};

// One connection's read-ahead: at most one request in flight or one response held. Lives as
// long as the connection (and the read-ahead coroutine in flight); used on its thread only.
class FetchReadAhead {
 public:
  // A response held longer than this is dropped: the consumer is slow enough that the wait
  // for decryption does not matter, and its high watermark would be old news.
  static constexpr std::chrono::milliseconds kMaxHoldTime{1000};
  // After this many read-aheads in a row went unused, only every kProbeInterval-th chance is
  // taken, so a consumer whose requests cannot be predicted costs the broker little.
  static constexpr int kMaxUnusedInARow = 3;
  static constexpr int kProbeInterval = 16;

  struct Ticket {
    uint64_t id = 0;
    size_t bytes = 0;
  };
  struct Hit {
    proxy::Frame response;                // decrypted, with the proxy's correlation id
    std::optional<PredictedFetch> after;  // the request predicted to follow it, if any
  };

  FetchReadAhead(const asio::any_io_executor& executor, std::shared_ptr<ReadAheadBudget> budget);
  ~FetchReadAhead();
  FetchReadAhead(const FetchReadAhead&) = delete;
  FetchReadAhead& operator=(const FetchReadAhead&) = delete;

  // Starts a read-ahead of `expected` (the request the consumer is predicted to send, at
  // `version`) that may hold up to `bytes`. Nothing when one is already under way, the budget
  // is spent, or this connection's read-aheads have gone unused lately (outside a probe).
  std::optional<Ticket> start(kafka::FetchRequest expected, int16_t version, size_t bytes);
  // The read-ahead's result: the decrypted response if it is servable (else nothing), and the
  // request predicted to follow it. A ticket of a dropped read-ahead just gives back its bytes.
  void finish(Ticket ticket, std::optional<proxy::Frame> response,
              std::optional<PredictedFetch> after);
  // The response read ahead for `request` (waiting for it while it is in flight) when the
  // request is the one predicted; otherwise what is held is dropped and nothing returned.
  asio::awaitable<std::optional<Hit>> take(const kafka::FetchRequest& request, int16_t version);

  // How read-aheads ended so far (read once a read-ahead ends, e.g. by metrics).
  uint64_t outcomes(ReadAheadOutcome outcome) const {
    return outcomes_[static_cast<size_t>(outcome)];
  }
  // Set by the filter: called with each read-ahead's outcome.
  void on_outcome(std::function<void(ReadAheadOutcome)> observer) {
    observer_ = std::move(observer);
  }

 private:
  enum class State : uint8_t { kIdle, kInFlight, kHeld };
  void end(ReadAheadOutcome outcome);

  std::shared_ptr<ReadAheadBudget> budget_;
  proxy::Notifier finished_;
  State state_ = State::kIdle;
  uint64_t current_ = 0;  // id of the read-ahead in flight or held
  size_t held_bytes_ = 0;
  kafka::FetchRequest expected_;
  int16_t expected_version_ = 0;  // the response held is encoded at this version
  std::optional<proxy::Frame> response_;
  std::optional<PredictedFetch> after_;
  std::chrono::steady_clock::time_point held_since_{};
  int unused_in_a_row_ = 0;
  int skipped_ = 0;
  std::array<uint64_t, static_cast<size_t>(ReadAheadOutcome::kCount)> outcomes_{};
  std::function<void(ReadAheadOutcome)> observer_;
};

}  // namespace kenc::record_encryption
