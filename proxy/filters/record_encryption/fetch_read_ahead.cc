#include "proxy/filters/record_encryption/fetch_read_ahead.h"

#include <glog/logging.h>

#include <algorithm>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "common/kafka/records/record_batch.h"

namespace kenc::record_encryption {

namespace {

constexpr int16_t kFirstVersionWithLastFetchedEpoch = 12;
constexpr int32_t kInitialEpoch = 0;  // a full request that asks for a new session
constexpr int32_t kFinalEpoch = -1;   // a sessionless request (or one closing its session)

// Where the consumer goes on after `records`: the next offset of the last whole batch, and
// that batch's leader epoch. Nothing when no batch is whole or the records are not of format
// v2 (which consumers of the proxy's encrypting clusters always get).
struct Position {
  int64_t next_offset = 0;
  int32_t leader_epoch = -1;
};
std::optional<Position> after_last_whole_batch(std::span<const uint8_t> records) {
  // Headers only: the CRCs were checked where the records were decrypted, or are the client's.
  thread_local std::vector<kafka::records::RecordsEntry> entries;
  entries.clear();
  if (!kafka::records::parse_records(records, entries, {.verify_crc = false}).ok()) {
    return std::nullopt;
  }
  std::optional<Position> position;
  for (const auto& entry : entries) {
    if (entry.kind == kafka::records::EntryKind::kLegacy) {
      return std::nullopt;
    }
    if (entry.kind == kafka::records::EntryKind::kBatch) {
      const auto& header = entry.batch.header;
      position = Position{header.base_offset + header.last_offset_delta + 1,
                          header.partition_leader_epoch};
    }
  }
  return position;  // a truncated last batch: the consumer goes on at its start
}

const kafka::FetchResponse::PartitionData* find_partition(
    const kafka::FetchResponse& response, const kafka::FetchRequest::FetchTopic& topic,
    int32_t partition) {
  for (const auto& t : response.responses) {
    if (t.topic != topic.topic || t.topic_id != topic.topic_id) {
      continue;
    }
    for (const auto& p : t.partitions) {
      if (p.partition_index == partition) {
        return &p;
      }
    }
  }
  return nullptr;
}

// For the debug log: the fields a read-ahead prediction sets, and the rest in brief.
std::string describe(const kafka::FetchRequest& r) {
  std::ostringstream out;
  out << "session " << r.session_id << "/" << r.session_epoch << " min " << r.min_bytes << " max "
      << r.max_bytes << " isolation " << int{r.isolation_level} << " forgotten "
      << r.forgotten_topics_data.size() << " rack '" << r.rack_id << "' partitions";
  for (const auto& t : r.topics) {
    for (const auto& p : t.partitions) {
      out << " " << t.topic << "-" << p.partition << "@" << p.fetch_offset << "/e"
          << p.last_fetched_epoch << "/c" << p.current_leader_epoch << "/l" << p.log_start_offset
          << "/m" << p.partition_max_bytes;
    }
  }
  return out.str();
}

const kafka::FetchRequest::FetchTopic* find_topic(const kafka::FetchRequest& request,
                                                  const kafka::FetchRequest::FetchTopic& like) {
  for (const auto& topic : request.topics) {
    if (topic.topic == like.topic && topic.topic_id == like.topic_id) {
      return &topic;
    }
  }
  return nullptr;
}

}  // namespace

bool make_sessionless(kafka::FetchRequest& request) {
  if (request.session_id != 0 || request.session_epoch != kInitialEpoch ||
      !request.forgotten_topics_data.empty()) {
    return false;
  }
  size_t partitions = 0;
  for (const auto& topic : request.topics) {
    partitions += topic.partitions.size();
  }
  if (partitions > kMaxSessionlessPartitions) {
    return false;
  }
  request.session_epoch = kFinalEpoch;
  return true;
}

bool is_sessionless(const kafka::FetchRequest& request) {
  return request.session_id == 0 && request.session_epoch == kFinalEpoch;
}

bool same_fetch(const kafka::FetchRequest& a, const kafka::FetchRequest& b) {
  if (!(a.cluster_id == b.cluster_id && a.replica_id == b.replica_id &&
        a.replica_state == b.replica_state && a.min_bytes == b.min_bytes &&
        a.max_bytes == b.max_bytes && a.isolation_level == b.isolation_level &&
        a.session_id == b.session_id && a.session_epoch == b.session_epoch &&
        a.forgotten_topics_data == b.forgotten_topics_data && a.rack_id == b.rack_id &&
        a.unknown_tagged_fields == b.unknown_tagged_fields && a.topics.size() == b.topics.size())) {
    return false;
  }
  // The same partitions in any order: librdkafka rotates them from one request to the next.
  for (const auto& topic : a.topics) {
    const auto* match = find_topic(b, topic);
    if (match == nullptr || match->partitions.size() != topic.partitions.size() ||
        match->unknown_tagged_fields != topic.unknown_tagged_fields) {
      return false;
    }
    for (const auto& partition : topic.partitions) {
      if (std::find(match->partitions.begin(), match->partitions.end(), partition) ==
          match->partitions.end()) {
        return false;
      }
    }
  }
  return true;
}

void order_like(kafka::FetchRequest& request, const kafka::FetchRequest& like) {
  auto rank = [](const auto& items, auto same) {
    return [&items, same](const auto& item) {
      for (size_t i = 0; i < items.size(); ++i) {
        if (same(items[i], item)) {
          return i;
        }
      }
      return items.size();
    };
  };
  auto topic_rank = rank(like.topics, [](const auto& x, const auto& y) {
    return x.topic == y.topic && x.topic_id == y.topic_id;
  });
  std::stable_sort(request.topics.begin(), request.topics.end(),
                   [&](const auto& x, const auto& y) { return topic_rank(x) < topic_rank(y); });
  for (auto& topic : request.topics) {
    const auto* model = find_topic(like, topic);
    if (model == nullptr) {
      continue;
    }
    auto partition_rank = rank(
        model->partitions, [](const auto& x, const auto& y) { return x.partition == y.partition; });
    std::stable_sort(
        topic.partitions.begin(), topic.partitions.end(),
        [&](const auto& x, const auto& y) { return partition_rank(x) < partition_rank(y); });
  }
}

FetchFollowUp follow_up(const kafka::FetchRequest& request, const kafka::FetchResponse& response,
                        int16_t version) {
  FetchFollowUp out;
  if (response.error_code != 0) {
    return out;
  }
  kafka::FetchRequest next = request;
  bool any_records = false;
  bool whole_batches = true;
  bool filled = false;  // some partition, or the response, filled at least half its limit
  size_t total = 0;
  for (auto& topic : next.topics) {
    for (auto& partition : topic.partitions) {
      const auto* data = find_partition(response, topic, partition.partition);
      if (data == nullptr || data->error_code != 0 || data->preferred_read_replica >= 0 ||
          data->diverging_epoch.end_offset >= 0) {
        return out;
      }
      if (!data->records || data->records->empty()) {
        continue;
      }
      any_records = true;
      const size_t size = data->records->size();
      total += size;
      filled =
          filled || size >= static_cast<size_t>(std::max(partition.partition_max_bytes, 0)) / 2;
      auto position = after_last_whole_batch(data->records->view());
      if (!position) {
        whole_batches = false;
        continue;
      }
      partition.fetch_offset = position->next_offset;
      // Consumers leave last_fetched_epoch unset (-1; it is for followers). One that sets it
      // sets the epoch of the last batch it fetched.
      if (version >= kFirstVersionWithLastFetchedEpoch && partition.last_fetched_epoch >= 0 &&
          position->leader_epoch >= 0) {
        partition.last_fetched_epoch = position->leader_epoch;
      }
    }
  }
  // A response below the request's min_bytes is one the broker would have held back until
  // max_wait_ms passed; the consumer's own request waits for more instead.
  out.servable = any_records && total >= static_cast<size_t>(std::max(request.min_bytes, 0));
  filled = filled || total >= static_cast<size_t>(std::max(request.max_bytes, 0)) / 2;
  if (any_records && whole_batches && filled && response.throttle_time_ms == 0) {
    out.next = std::move(next);
  }
  return out;
}

bool ReadAheadBudget::try_reserve(size_t bytes) {
  size_t used = in_use_.load(std::memory_order_relaxed);
  do {
    if (bytes > max_bytes_ || used > max_bytes_ - bytes) {
      return false;
    }
  } while (!in_use_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

FetchReadAhead::FetchReadAhead(const asio::any_io_executor& executor,
                               std::shared_ptr<ReadAheadBudget> budget)
    : budget_(std::move(budget)), finished_(executor) {}

FetchReadAhead::~FetchReadAhead() {
  // A read-ahead in flight holds this object, so only a held response can be left.
  if (state_ == State::kHeld) {
    budget_->release(held_bytes_);
  }
}

std::optional<FetchReadAhead::Ticket> FetchReadAhead::start(kafka::FetchRequest expected,
                                                            int16_t version, size_t bytes) {
  if (state_ != State::kIdle) {
    return std::nullopt;
  }
  if (unused_in_a_row_ >= kMaxUnusedInARow && ++skipped_ % kProbeInterval != 0) {
    return std::nullopt;
  }
  if (!budget_->try_reserve(bytes)) {
    return std::nullopt;
  }
  state_ = State::kInFlight;
  expected_ = std::move(expected);
  expected_version_ = version;
  held_bytes_ = bytes;
  return Ticket{++current_, bytes};
}

void FetchReadAhead::finish(Ticket ticket, std::optional<proxy::Frame> response,
                            std::optional<PredictedFetch> after) {
  if (ticket.id != current_ || state_ != State::kInFlight) {
    budget_->release(ticket.bytes);  // dropped while in flight
    return;
  }
  state_ = State::kHeld;
  response_ = std::move(response);
  after_ = std::move(after);
  held_since_ = std::chrono::steady_clock::now();
  finished_.notify();
}

void FetchReadAhead::end(ReadAheadOutcome outcome) {
  if (state_ == State::kHeld) {
    budget_->release(held_bytes_);
  }
  // A read-ahead still in flight gives its bytes back when it finishes (its ticket is stale).
  state_ = State::kIdle;
  response_.reset();
  after_.reset();
  ++current_;
  if (outcome == ReadAheadOutcome::kUsed) {
    unused_in_a_row_ = 0;
    skipped_ = 0;
  } else {
    ++unused_in_a_row_;
  }
  ++outcomes_[static_cast<size_t>(outcome)];
  if (observer_) {
    observer_(outcome);
  }
}

asio::awaitable<std::optional<FetchReadAhead::Hit>> FetchReadAhead::take(
    const kafka::FetchRequest& request, int16_t version) {
  if (state_ == State::kIdle) {
    co_return std::nullopt;
  }
  if (version != expected_version_ || !same_fetch(expected_, request)) {
    if (VLOG_IS_ON(2)) {
      VLOG(2) << "fetch read-ahead mismatched: expected " << describe(expected_) << "; got "
              << describe(request);
    }
    end(ReadAheadOutcome::kMismatched);
    co_return std::nullopt;
  }
  const uint64_t id = current_;
  while (state_ == State::kInFlight && current_ == id) {
    co_await finished_.wait();
  }
  if (state_ != State::kHeld || current_ != id) {
    co_return std::nullopt;  // ended meanwhile (cannot happen: one request at a time)
  }
  if (!response_) {
    end(ReadAheadOutcome::kUnservable);
    co_return std::nullopt;
  }
  if (std::chrono::steady_clock::now() - held_since_ > kMaxHoldTime) {
    end(ReadAheadOutcome::kStale);
    co_return std::nullopt;
  }
  Hit hit{std::move(*response_), std::move(after_)};
  end(ReadAheadOutcome::kUsed);
  co_return hit;
}

}  // namespace kenc::record_encryption
