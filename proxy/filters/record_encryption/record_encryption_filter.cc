#include "proxy/filters/record_encryption/record_encryption_filter.h"

#include <glog/logging.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/base/hex.h"
#include "common/kafka/protocol/dispatch.h"
#include "common/kafka/protocol/generated/fetch_request.h"
#include "common/kafka/protocol/generated/fetch_response.h"
#include "common/kafka/protocol/generated/produce_request.h"
#include "common/kafka/protocol/generated/produce_response.h"
#include "common/kafka/protocol/generated/share_fetch_response.h"
#include "common/kafka/protocol/headers.h"
#include "common/kafka/protocol/reader.h"
#include "common/kafka/protocol/writer.h"
#include "common/kafka/records/batch_rewriter.h"
#include "common/kafka/records/record.h"
#include "common/kafka/records/record_batch.h"
#include "proxy/filter/await_callback.h"
#include "proxy/filters/address_rewrite/resolve_topic_names.h"
#include "proxy/filters/record_encryption/aes_context_cache.h"
#include "proxy/filters/record_encryption/cached_dek_decryption.h"
#include "proxy/filters/record_encryption/record_transforms.h"

namespace kenc::record_encryption {
namespace {

using proxy::Frame;
using proxy::RequestContext;

constexpr int16_t kProduce = 0;
constexpr int16_t kFetch = 1;
constexpr int16_t kShareFetch = 78;
constexpr int16_t kFirstProduceWithTopicIds = 13;
constexpr int16_t kFirstFetchWithTopicIds = 13;
constexpr int16_t kFirstProduceWithErrorMessage = 8;

// Kafka error codes the filter answers with.
constexpr int16_t kUnknownServerError = -1;
constexpr int16_t kCorruptMessage = 2;
constexpr int16_t kRequestTimedOut = 7;  // retriable: the producer retries the same batch
constexpr int16_t kMessageTooLarge = 10;
constexpr int16_t kRecordListTooLarge = 18;
constexpr int16_t kTopicAuthorizationFailed = 29;
constexpr int16_t kInvalidRecord = 87;
constexpr int16_t kUnknownTopicId = 100;

// A decoded frame whose message body points into the frame's own bytes (no copy). The frame
// must outlive the body.
struct Decoded {
  size_t header_bytes = 0;  // of the payload (after the size prefix)
  std::unique_ptr<kafka::Message> body;
};

Result<Decoded> decode(const Frame& frame, int16_t api_key, kafka::MessageKind kind,
                       int16_t version) {
  auto header_version = kind == kafka::MessageKind::kRequest
                            ? kafka::request_header_version(api_key, version)
                            : kafka::response_header_version(api_key, version);
  if (!header_version.ok()) {
    return header_version.error();
  }
  // Non-owning: the decoded records are slices of `frame`, which the caller keeps alive.
  std::shared_ptr<const void> bytes(&frame.bytes, [](const void*) {});
  kafka::Reader reader(SharedBytes(bytes, frame.payload()));
  if (kind == kafka::MessageKind::kRequest) {
    kafka::RequestHeader header;
    if (Status s = header.decode(reader, *header_version); !s.ok()) {
      return s.error();
    }
  } else {
    kafka::ResponseHeader header;
    if (Status s = header.decode(reader, *header_version); !s.ok()) {
      return s.error();
    }
  }
  Decoded out;
  out.header_bytes = reader.position();
  auto body = kafka::decode_message(api_key, kind, version, reader);
  if (!body.ok()) {
    return body.error();
  }
  if (reader.remaining() != 0) {
    return make_error(ErrorCode::kInvalidArgument, "bytes after the message body");
  }
  out.body = std::move(*body);
  return out;
}

// A new frame: the original header bytes, then `body` encoded at `version`.
Result<Frame> reassemble(const Frame& original, size_t header_bytes, const kafka::Message& body,
                         int16_t version) {
  kafka::Writer writer;
  // One allocation of the final size: growing by doubling copied a 3 MiB Fetch response about
  // six times over.
  writer.reserve(kafka::kFrameSizeBytes + header_bytes + body.encoded_size(version));
  writer.write_int32(0);  // the size, patched below
  writer.write_raw(original.payload().subspan(0, header_bytes));
  if (Status s = body.encode(writer, version); !s.ok()) {
    return s.error();
  }
  Frame frame{writer.take_bytes()};
  const auto size = static_cast<uint32_t>(frame.bytes.size() - kafka::kFrameSizeBytes);
  for (int i = 0; i < 4; ++i) {
    frame.bytes[i] = static_cast<uint8_t>(size >> (24 - 8 * i));
  }
  return frame;
}

std::string topic_label(const std::optional<std::string>& name, const kafka::Uuid& id) {
  return name ? *name : "topic-id:" + to_hex(std::span<const uint8_t>(id.data(), id.size()));
}

// How a key-broker failure on produce reaches the producer.
struct ProduceError {
  int16_t code;
  PartitionFailure reason;
};
ProduceError produce_error_for(const Error& e) {
  switch (e.code) {
    case ErrorCode::kNotFound:
      return {kInvalidRecord, PartitionFailure::kKekNotFound};
    case ErrorCode::kPermissionDenied:
      return {kTopicAuthorizationFailed, PartitionFailure::kPermissionDenied};
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kOutOfRange:
    case ErrorCode::kUnsupported:
    case ErrorCode::kDataLoss:
      return {kInvalidRecord, PartitionFailure::kInvalidRecords};
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeadlineExceeded:
    case ErrorCode::kInternal:
      break;
  }
  return {kRequestTimedOut, PartitionFailure::kKeyBrokerUnavailable};
}

// The produce side's rewriter, one per thread (its buffers are reused); used only between
// suspensions.
kafka::records::BatchRewriter& produce_rewriter() {
  thread_local kafka::records::BatchRewriter rewriter;
  return rewriter;
}

// Kafka refuses a batch without records, and parse_batch() bounds the count of an uncompressed
// one by its size; a compressed batch is decompressed here to check that it holds the records
// its header declares. Its records section is left in `section` (produce_rewriter()'s buffer,
// valid until the rewriter's next use), so encrypting it right after needs no second
// decompression.
Status verify_record_count(const kafka::records::BatchView& batch,
                           std::span<const uint8_t>& section) {
  const int32_t declared = batch.header.record_count;
  if (declared <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "a record batch declares no records");
  }
  section = {};
  if (batch.header.codec() == kafka::records::Codec::kNone) {
    return Status::Ok();
  }
  if (Status s = produce_rewriter().records_section(batch, section); !s.ok()) {
    return s;
  }
  kafka::records::RecordReader reader(section, declared);
  kafka::records::RecordView record;
  int32_t seen = 0;
  while (reader.next(record)) {
    ++seen;
  }
  if (!reader.status().ok()) {
    return reader.status();
  }
  if (seen != declared) {
    return make_error(ErrorCode::kInvalidArgument,
                      "record batch declares " + std::to_string(declared) + " records but holds " +
                          std::to_string(seen));
  }
  return Status::Ok();
}

bool is_transient(const Error& e) {
  return e.code == ErrorCode::kUnavailable || e.code == ErrorCode::kDeadlineExceeded ||
         e.code == ErrorCode::kInternal;
}

}  // namespace

// Partitions of a Produce request the filter answered itself, to merge into the response.
struct RecordEncryptionFilter::ProduceFailures {
  struct Partition {
    int32_t index;
    int16_t error_code;
    std::string message;
  };
  struct Topic {
    std::string name;
    kafka::Uuid id{};
    std::vector<Partition> partitions;
  };
  std::vector<Topic> topics;

  void add(const std::string& name, const kafka::Uuid& id, Partition p) {
    for (Topic& t : topics) {
      if (t.name == name && t.id == id) {
        t.partitions.push_back(std::move(p));
        return;
      }
    }
    topics.push_back(Topic{name, id, {std::move(p)}});
  }
  bool empty() const { return topics.empty() && grown.empty(); }

  // Partitions the filter encrypted whose batches hold several uncompressed records. If the
  // broker refuses one as MESSAGE_TOO_LARGE (encryption pushed it over max.message.bytes), the
  // Java producer would split it by batch.size, rebuild the same batch and resend it forever;
  // the answer becomes RECORD_LIST_TOO_LARGE, which it reports instead.
  struct Grown {
    std::string name;
    kafka::Uuid id{};
    int32_t index;
    size_t added_bytes;
  };
  std::vector<Grown> grown;
};

// What became of one partition's records.
struct RecordEncryptionFilter::PartitionOutcome {
  bool changed = false;
  SharedBytes records;  // when changed
  // When failed: the Kafka error for the partition, the reason and a message.
  bool failed = false;
  int16_t error_code = 0;
  PartitionFailure reason = PartitionFailure::kInvalidRecords;
  std::string message;
  bool plaintext_passthrough = false;
  // Produce: the encrypted records hold several uncompressed records in a batch (see Grown).
  bool uncompressed_multi_record = false;
  size_t added_bytes = 0;
  // Fetch: `failed` describes a batch that could not be decrypted, and `records` holds the
  // batches before it (delivered; the next fetch starts at the bad one).
  bool cut_short = false;

  static PartitionOutcome failure(int16_t code, PartitionFailure why, std::string text) {
    PartitionOutcome o;
    o.failed = true;
    o.error_code = code;
    o.reason = why;
    o.message = std::move(text);
    return o;
  }
};

RecordEncryptionFilter::RecordEncryptionFilter(RecordEncryptionDeps deps) : deps_(std::move(deps)) {
  if (!deps_.policy || !deps_.leases || !deps_.deks || !deps_.topic_ids) {
    throw std::invalid_argument(
        "RecordEncryptionFilter needs a policy, leases, DEKs and topic ids");
  }
}

bool RecordEncryptionFilter::handles_request(int16_t api_key, int16_t api_version) const {
  // Every Produce version, also those the proxy cannot decode: those must be refused, never
  // forwarded as they came (their records would reach the broker in plaintext).
  if (api_key == kProduce) {
    return true;
  }
  const bool fetch_handled =
      (deps_.fetch_limits && deps_.fetch_limits->enabled()) || deps_.read_ahead != nullptr;
  return api_key == kFetch && fetch_handled && api_version >= kafka::FetchRequest::kLowestVersion &&
         api_version <= kafka::FetchRequest::kHighestVersion;
}

bool RecordEncryptionFilter::handles_response(int16_t api_key, int16_t api_version) const {
  switch (api_key) {
    case kProduce:
      return api_version >= kafka::ProduceRequest::kLowestVersion &&
             api_version <= kafka::ProduceRequest::kHighestVersion;
    case kFetch:
      return api_version >= kafka::FetchResponse::kLowestVersion &&
             api_version <= kafka::FetchResponse::kHighestVersion;
    case kShareFetch:
      return api_version >= kafka::ShareFetchResponse::kLowestVersion &&
             api_version <= kafka::ShareFetchResponse::kHighestVersion;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Produce

asio::awaitable<RecordEncryptionFilter::PartitionOutcome> RecordEncryptionFilter::encrypt_partition(
    const RequestContext& context, const std::string& topic, const TopicDecision& decision,
    const SharedBytes& records) {
  std::vector<kafka::records::RecordsEntry> entries;
  if (Status s = kafka::records::parse_records(records.view(), entries); !s.ok()) {
    co_return PartitionOutcome::failure(
        kCorruptMessage, PartitionFailure::kInvalidRecords,
        "records of topic '" + topic + "' cannot be parsed: " + s.error().message);
  }
  uint64_t values = 0;
  bool uncompressed_multi_record = false;
  // A partition of one compressed batch (what producers send): its decompressed records, in
  // produce_rewriter() as long as its decompression count has not moved (another coroutine on
  // this thread may use the rewriter while this one waits for a lease).
  std::span<const uint8_t> only_section;
  std::optional<uint64_t> only_section_decompression;
  for (const auto& entry : entries) {
    if (entry.kind != kafka::records::EntryKind::kBatch) {
      co_return PartitionOutcome::failure(
          kInvalidRecord, PartitionFailure::kInvalidRecords,
          "topic '" + topic + "' is encrypted; only complete magic v2 record batches can be");
    }
    // The IVs are reserved from the declared counts, so those must be true: a batch declaring
    // no records would otherwise be forwarded as it came (with whatever plaintext it carries),
    // and a compressed one declaring millions would use up a lease with a few bytes.
    std::span<const uint8_t> section;
    if (Status s = verify_record_count(entry.batch, section); !s.ok()) {
      co_return PartitionOutcome::failure(
          kInvalidRecord, PartitionFailure::kInvalidRecords,
          "records of topic '" + topic + "' cannot be encrypted: " + s.error().message);
    }
    if (entries.size() == 1 && entry.batch.header.codec() != kafka::records::Codec::kNone) {
      only_section = section;
      only_section_decompression = produce_rewriter().decompressions();
    }
    values += static_cast<uint64_t>(entry.batch.header.record_count);
    uncompressed_multi_record =
        uncompressed_multi_record || (entry.batch.header.codec() == kafka::records::Codec::kNone &&
                                      entry.batch.header.record_count > 1);
  }
  if (values == 0) {
    co_return PartitionOutcome{};
  }

  // The IVs for every record of the partition: from the current lease without waiting, or
  // once the key broker granted the next one.
  Result<LeaseReservation> reservation = make_error(ErrorCode::kInternal, "unset");
  auto fast = deps_.leases->try_reserve(decision.kek_alias, values, topic);
  if (!fast.ok()) {
    reservation = fast.error();
  } else if (fast->has_value()) {
    reservation = std::move(**fast);
  } else {
    if (deps_.metrics) {
      deps_.metrics->lease_wait();
    }
    auto leases = deps_.leases;
    std::string alias = decision.kek_alias;
    std::function<void(std::function<void(Result<LeaseReservation>)>)> start =
        [leases, alias, values, topic](std::function<void(Result<LeaseReservation>)> done) {
          leases->reserve(alias, values, topic, std::move(done));
        };
    reservation = co_await proxy::await_callback<Result<LeaseReservation>>(context.executor,
                                                                           std::move(start));
  }
  if (!reservation.ok()) {
    const Error& e = reservation.error();
    if (e.code == ErrorCode::kNotFound &&
        deps_.policy->unresolved_kek() == FallbackPolicy::kPassthrough) {
      PartitionOutcome o;
      o.plaintext_passthrough = true;
      co_return o;
    }
    ProduceError pe = produce_error_for(e);
    std::string message = "cannot encrypt records of topic '" + topic + "' under KEK alias '" +
                          decision.kek_alias + "': " + e.message;
    co_return PartitionOutcome::failure(pe.code, pe.reason, std::move(message));
  }

  // From here on no suspension: the thread's AES context and batch rewriter are used directly.
  auto encryptor = AesContextCache::for_this_thread().encryptor(reservation->lease->dek);
  if (!encryptor.ok()) {
    co_return PartitionOutcome::failure(kRequestTimedOut, PartitionFailure::kKeyBrokerUnavailable,
                                        "cannot set up AES-GCM: " + encryptor.error().message);
  }
  kafka::records::BatchRewriter& rewriter = produce_rewriter();
  std::vector<uint8_t> out;
  out.reserve(records.size() + values * (reservation->lease->edek.size() + 40));
  crypto::IvFields next = reservation->first;
  uint64_t left = reservation->count;
  uint64_t encrypted = 0;
  uint64_t plaintext_bytes = 0;
  for (const auto& entry : entries) {
    EncryptTransform transform(**encryptor, reservation->lease->edek, next, left,
                               deps_.encrypt_headers);
    Status s = only_section_decompression == rewriter.decompressions()
                   ? rewriter.rewrite_values_of_section(entry.batch, only_section, transform, out)
                   : rewriter.rewrite_values(entry.batch, transform, out);
    if (!s.ok()) {
      co_return PartitionOutcome::failure(
          kInvalidRecord, PartitionFailure::kInvalidRecords,
          "cannot encrypt records of topic '" + topic + "': " + s.error().message);
    }
    next.counter += transform.encrypted();
    left -= transform.encrypted();
    encrypted += transform.encrypted();
    plaintext_bytes += transform.plaintext_bytes();
  }
  if (deps_.metrics) {
    deps_.metrics->encrypted(encrypted, plaintext_bytes,
                             out.size() > records.size() ? out.size() - records.size() : 0);
  }
  PartitionOutcome o;
  o.changed = true;
  o.uncompressed_multi_record = uncompressed_multi_record;
  o.added_bytes = out.size() > records.size() ? out.size() - records.size() : 0;
  o.records = SharedBytes(std::move(out));
  co_return o;
}

asio::awaitable<proxy::RequestVerdict> RecordEncryptionFilter::on_request(
    const RequestContext& context, Frame request) {
  if (context.api_key == kFetch) {
    co_return co_await on_fetch_request(context, std::move(request));
  }
  if (context.api_version < kafka::ProduceRequest::kLowestVersion ||
      context.api_version > kafka::ProduceRequest::kHighestVersion) {
    // ApiVersions told the client which versions the proxy handles; a client that sends
    // another one gets its connection closed rather than its records forwarded unencrypted.
    throw std::runtime_error("Produce v" + std::to_string(context.api_version) +
                             " is not supported by the encrypting proxy (v" +
                             std::to_string(kafka::ProduceRequest::kLowestVersion) + "-" +
                             std::to_string(kafka::ProduceRequest::kHighestVersion) + ")");
  }
  auto decoded = decode(request, kProduce, kafka::MessageKind::kRequest, context.api_version);
  if (!decoded.ok()) {
    // Without decoding there is no encrypting: refusing is the only safe answer.
    throw std::runtime_error("cannot decode a Produce v" + std::to_string(context.api_version) +
                             " request: " + decoded.error().to_string());
  }
  auto& produce = *kafka::message_cast<kafka::ProduceRequest>(*decoded->body);
  const bool by_id = context.api_version >= kFirstProduceWithTopicIds;
  auto failures = std::make_shared<ProduceFailures>();
  bool changed = false;
  if (by_id) {
    // Ids this proxy has not seen in a Metadata response (the client asked another proxy, or
    // this one restarted): one Metadata request of our own on the same upstream connection.
    std::vector<kafka::Uuid> unknown;
    for (const auto& topic : produce.topic_data) {
      if (!deps_.topic_ids->name(topic.topic_id)) {
        unknown.push_back(topic.topic_id);
      }
    }
    if (!unknown.empty()) {
      Status resolved = co_await proxy::address_rewrite::resolve_topic_names(
          context, *deps_.topic_ids, std::move(unknown));
      if (!resolved.ok()) {
        LOG_EVERY_N(WARNING, 100) << "cannot look up topic ids: " << resolved.error().to_string()
                                  << " [logged every 100th]";
      }
    }
  }

  for (auto topic_it = produce.topic_data.begin(); topic_it != produce.topic_data.end();) {
    auto& topic = *topic_it;
    std::optional<std::string> name = topic.name;
    if (by_id) {
      name = deps_.topic_ids->name(topic.topic_id);
    }
    auto fail_topic = [&](int16_t code, PartitionFailure why, const std::string& message) {
      LOG_EVERY_N(WARNING, 100) << "produce refused (" << partition_failure_name(why)
                                << "): " << message << " [logged every 100th]";
      for (const auto& p : topic.partition_data) {
        failures->add(topic.name, topic.topic_id, {p.index, code, message});
        if (deps_.metrics) {
          deps_.metrics->produce_failure(why);
        }
      }
    };
    if (!name) {
      // Not even the broker could name it just now. Retriable: the producer refreshes its
      // metadata and sends the batch again.
      fail_topic(kUnknownTopicId, PartitionFailure::kUnknownTopicId,
                 "the proxy does not know topic id " + topic_label(name, topic.topic_id) + " yet");
      topic_it = produce.topic_data.erase(topic_it);
      changed = true;
      continue;
    }
    auto decision = deps_.policy->decide(*name);
    if (decision->action == TopicAction::kPlaintext) {
      ++topic_it;
      continue;
    }
    if (decision->action == TopicAction::kReject) {
      fail_topic(kInvalidRecord, PartitionFailure::kRejectedTopic,
                 "topic '" + *name +
                     "' matches no encryption rule of the proxy and unmatched_topic is reject");
      topic_it = produce.topic_data.erase(topic_it);
      changed = true;
      continue;
    }
    for (auto part_it = topic.partition_data.begin(); part_it != topic.partition_data.end();) {
      if (!part_it->records || part_it->records->empty()) {
        ++part_it;
        continue;
      }
      PartitionOutcome outcome =
          co_await encrypt_partition(context, *name, *decision, *part_it->records);
      if (outcome.failed) {
        LOG_EVERY_N(WARNING, 100) << "produce to " << *name << "-" << part_it->index << " refused ("
                                  << partition_failure_name(outcome.reason)
                                  << "): " << outcome.message << " [logged every 100th]";
        failures->add(topic.name, topic.topic_id,
                      {part_it->index, outcome.error_code, outcome.message});
        if (deps_.metrics) {
          deps_.metrics->produce_failure(outcome.reason);
        }
        part_it = topic.partition_data.erase(part_it);
        changed = true;
        continue;
      }
      if (outcome.plaintext_passthrough && deps_.metrics) {
        deps_.metrics->plaintext_passthrough();
      }
      if (outcome.changed) {
        part_it->records = std::move(outcome.records);
        changed = true;
        if (outcome.uncompressed_multi_record) {
          failures->grown.push_back(
              {topic.name, topic.topic_id, part_it->index, outcome.added_bytes});
        }
      }
      ++part_it;
    }
    if (topic.partition_data.empty()) {
      topic_it = produce.topic_data.erase(topic_it);
    } else {
      ++topic_it;
    }
  }

  if (!changed) {
    decoded->body.reset();
    co_return proxy::ForwardRequest{std::move(request)};
  }
  if (produce.topic_data.empty()) {
    // Nothing left to forward: answer every partition here (acks=0 answers are dropped).
    kafka::ProduceResponse response;
    Frame empty_response;
    {
      kafka::Writer writer;
      writer.write_int32(0);
      kafka::ResponseHeader header;
      header.correlation_id = context.correlation_id;
      auto header_version = kafka::response_header_version(kProduce, context.api_version);
      if (!header_version.ok() || !header.encode(writer, *header_version).ok() ||
          !response.encode(writer, context.api_version).ok()) {
        throw std::runtime_error("cannot encode a Produce response");
      }
      empty_response.bytes = writer.take_bytes();
      const auto size = static_cast<uint32_t>(empty_response.bytes.size() - 4);
      for (int i = 0; i < 4; ++i) {
        empty_response.bytes[i] = static_cast<uint8_t>(size >> (24 - 8 * i));
      }
    }
    co_return proxy::AnswerRequest{
        merge_produce_failures(context, std::move(empty_response), *failures)};
  }
  auto rebuilt = reassemble(request, decoded->header_bytes, produce, context.api_version);
  if (!rebuilt.ok()) {
    throw std::runtime_error("cannot encode the encrypted Produce request: " +
                             rebuilt.error().to_string());
  }
  if (!failures->empty() && context.state) {
    context.state->put(this, failures);
  }
  co_return proxy::ForwardRequest{std::move(*rebuilt)};
}

Frame RecordEncryptionFilter::merge_produce_failures(const RequestContext& context, Frame response,
                                                     const ProduceFailures& failures) {
  auto decoded = decode(response, kProduce, kafka::MessageKind::kResponse, context.api_version);
  if (!decoded.ok()) {
    throw std::runtime_error("cannot decode a Produce response: " + decoded.error().to_string());
  }
  auto& produce = *kafka::message_cast<kafka::ProduceResponse>(*decoded->body);
  const bool by_id = context.api_version >= kFirstProduceWithTopicIds;
  bool changed = !failures.topics.empty();
  for (const auto& g : failures.grown) {
    for (auto& t : produce.responses) {
      if (by_id ? t.topic_id != g.id : t.name != g.name) {
        continue;
      }
      for (auto& p : t.partition_responses) {
        if (p.index == g.index && p.error_code == kMessageTooLarge) {
          p.error_code = kRecordListTooLarge;
          if (context.api_version >= kFirstProduceWithErrorMessage) {
            p.error_message = "the batch is over the broker's max.message.bytes once encrypted (" +
                              std::to_string(g.added_bytes) +
                              " bytes added): lower the producer's batch.size";
          }
          changed = true;
        }
      }
    }
  }
  for (const auto& failed : failures.topics) {
    kafka::ProduceResponse::TopicProduceResponse* target = nullptr;
    for (auto& t : produce.responses) {
      if (by_id ? t.topic_id == failed.id : t.name == failed.name) {
        target = &t;
      }
    }
    if (target == nullptr) {
      produce.responses.emplace_back();
      target = &produce.responses.back();
      target->name = failed.name;
      target->topic_id = failed.id;
    }
    for (const auto& p : failed.partitions) {
      kafka::ProduceResponse::PartitionProduceResponse r;
      r.index = p.index;
      r.error_code = p.error_code;
      r.base_offset = -1;
      if (context.api_version >= kFirstProduceWithErrorMessage) {
        r.error_message = p.message;
      }
      target->partition_responses.push_back(std::move(r));
    }
  }
  if (!changed) {
    decoded->body.reset();
    return response;
  }
  auto rebuilt = reassemble(response, decoded->header_bytes, produce, context.api_version);
  if (!rebuilt.ok()) {
    throw std::runtime_error("cannot encode a Produce response: " + rebuilt.error().to_string());
  }
  return std::move(*rebuilt);
}

// ---------------------------------------------------------------------------------------------
// Fetch

bool RecordEncryptionFilter::scale_fetch_limits(kafka::FetchRequest& fetch, bool by_id) const {
  if (!deps_.fetch_limits || !deps_.fetch_limits->enabled()) {
    return false;
  }
  const FetchLimitScaler& scaler = *deps_.fetch_limits;
  double largest = 1.0;
  bool changed = false;
  for (auto& topic : fetch.topics) {
    const double factor =
        scaler.factor(by_id ? FetchLimitScaler::key_of_id(topic.topic_id.data()) : topic.topic);
    if (factor <= 1.0) {
      continue;
    }
    largest = std::max(largest, factor);
    for (auto& partition : topic.partitions) {
      const int32_t scaled = scaler.scale(partition.partition_max_bytes, factor);
      changed = changed || scaled != partition.partition_max_bytes;
      partition.partition_max_bytes = scaled;
    }
  }
  // The response's limit grows with its largest topic factor: a request for encrypted and
  // plaintext topics may then get up to that factor more plaintext than asked for, which
  // fetch.max.bytes allows (it is a target, not a bound: one batch may always exceed it).
  // min_bytes is left alone: counted in broker bytes it is met sooner, never later.
  const int32_t max_bytes = scaler.scale(fetch.max_bytes, largest);
  changed = changed || max_bytes != fetch.max_bytes;
  fetch.max_bytes = max_bytes;
  return changed;
}

std::shared_ptr<FetchReadAhead> RecordEncryptionFilter::read_ahead_of(
    const RequestContext& context) const {
  if (!deps_.read_ahead || context.connection_state == nullptr) {
    return nullptr;
  }
  auto ahead = context.connection_state->get<FetchReadAhead>(this);
  if (!ahead) {
    ahead = std::make_shared<FetchReadAhead>(context.executor, deps_.read_ahead);
    if (deps_.metrics) {
      ahead->on_outcome(
          [metrics = deps_.metrics](ReadAheadOutcome outcome) { metrics->read_ahead(outcome); });
    }
    context.connection_state->put(this, ahead);
  }
  return ahead;
}

asio::awaitable<proxy::RequestVerdict> RecordEncryptionFilter::on_fetch_request(
    const RequestContext& context, Frame request) {
  auto decoded = decode(request, kFetch, kafka::MessageKind::kRequest, context.api_version);
  if (!decoded.ok()) {
    // Nothing secret is in a Fetch request: the broker answers a malformed one itself.
    co_return proxy::ForwardRequest{std::move(request)};
  }
  auto& fetch = *kafka::message_cast<kafka::FetchRequest>(*decoded->body);
  bool changed = false;
  if (auto ahead = read_ahead_of(context)) {
    changed = make_sessionless(fetch);
    if (is_sessionless(fetch)) {
      std::optional<FetchReadAhead::Hit> hit = co_await ahead->take(fetch, context.api_version);
      if (hit) {
        // The response read ahead carries the proxy's correlation id; the client gets its own.
        const auto id = static_cast<uint32_t>(context.correlation_id);
        for (size_t i = 0; i < 4; ++i) {
          hit->response.bytes[kafka::kFrameSizeBytes + i] =
              static_cast<uint8_t>(id >> (24 - 8 * i));
        }
        if (hit->after) {
          order_like(hit->after->request, fetch);
          read_ahead(context, ahead, std::move(*hit->after));
        }
        decoded->body.reset();
        co_return proxy::AnswerRequest{std::move(hit->response)};
      }
      if (context.state) {
        // For the response: what the client will ask next depends on this request.
        auto header = request.payload().subspan(0, decoded->header_bytes);
        context.state->put(this, std::make_shared<PredictedFetch>(PredictedFetch{
                                     std::vector<uint8_t>(header.begin(), header.end()), fetch}));
      }
    }
  }
  changed = scale_fetch_limits(fetch, context.api_version >= kFirstFetchWithTopicIds) || changed;
  std::optional<Frame> rebuilt;
  if (changed) {
    // A request that cannot be re-encoded goes out as the client sent it (unscaled).
    if (auto frame = reassemble(request, decoded->header_bytes, fetch, context.api_version);
        frame.ok()) {
      rebuilt = std::move(*frame);
    }
  }
  decoded->body.reset();  // it points into `request`
  co_return proxy::ForwardRequest{rebuilt ? std::move(*rebuilt) : std::move(request)};
}

void RecordEncryptionFilter::read_ahead(const RequestContext& context,
                                        const std::shared_ptr<FetchReadAhead>& ahead,
                                        PredictedFetch next) {
  kafka::FetchRequest upstream = next.request;
  upstream.max_wait_ms = 0;  // what is there now: a consumer that caught up is not read ahead
  scale_fetch_limits(upstream, context.api_version >= kFirstFetchWithTopicIds);
  // The response is bounded by the request's limits (give or take one batch).
  int64_t partition_limits = 0;
  for (const auto& topic : upstream.topics) {
    for (const auto& partition : topic.partitions) {
      partition_limits += std::max(partition.partition_max_bytes, 0);
    }
  }
  const auto bytes =
      static_cast<size_t>(std::min<int64_t>(partition_limits, std::max(upstream.max_bytes, 0)));
  auto ticket = ahead->start(next.request, context.api_version, bytes);
  if (!ticket) {
    return;
  }
  kafka::Writer writer;
  writer.reserve(kafka::kFrameSizeBytes + next.header.size() +
                 upstream.encoded_size(context.api_version));
  writer.write_int32(0);  // the size, patched below
  writer.write_raw(next.header);
  if (Status s = upstream.encode(writer, context.api_version); !s.ok()) {
    ahead->finish(*ticket, std::nullopt, std::nullopt);
    return;
  }
  Frame frame{writer.take_bytes()};
  const auto size = static_cast<uint32_t>(frame.bytes.size() - kafka::kFrameSizeBytes);
  for (size_t i = 0; i < 4; ++i) {
    frame.bytes[i] = static_cast<uint8_t>(size >> (24 - 8 * i));
  }
  RequestContext own{context.api_key,         context.api_version, context.correlation_id,
                     context.virtual_cluster, context.executor,    nullptr};
  asio::co_spawn(context.executor,
                 run_read_ahead(context.upstream_handle, ahead, *ticket, std::move(own),
                                std::move(next), std::move(frame)),
                 asio::detached);
}

asio::awaitable<void> RecordEncryptionFilter::run_read_ahead(
    std::weak_ptr<proxy::UpstreamChannel> handle, std::shared_ptr<FetchReadAhead> ahead,
    FetchReadAhead::Ticket ticket, RequestContext context, PredictedFetch sent, Frame request) {
  std::optional<Frame> ready;
  std::optional<PredictedFetch> after;
  // Holding the connection also keeps its filters, this one included, alive until the end.
  if (std::shared_ptr<proxy::UpstreamChannel> upstream = handle.lock()) {
    Result<Frame> response = co_await upstream->send(std::move(request));
    if (response.ok()) {
      try {
        FetchFollowUp follow;
        Frame decrypted =
            co_await on_fetch_response(context, std::move(*response), &sent.request, &follow);
        if (follow.servable) {
          ready = std::move(decrypted);
        }
        if (follow.next) {
          after = PredictedFetch{std::move(sent.header), std::move(*follow.next)};
        }
      } catch (const std::exception& e) {
        // The client's own request goes to the broker and meets whatever this was.
        VLOG(1) << "fetch read-ahead dropped: " << e.what();
      }
    }
  }
  ahead->finish(ticket, std::move(ready), std::move(after));
}

void RecordEncryptionFilter::learn_fetch_sizes(
    const std::vector<std::string>& topics, const std::vector<size_t>& topic_of,
    const std::vector<FetchedPartition>& partitions,
    const std::vector<PartitionOutcome>& outcomes) const {
  std::vector<std::pair<uint64_t, uint64_t>> bytes(topics.size());  // broker, delivered
  for (size_t i = 0; i < partitions.size(); ++i) {
    const PartitionOutcome& outcome = outcomes[i];
    if (outcome.failed) {
      continue;  // a cut-short partition says nothing about the size of its records
    }
    const uint64_t broker = partitions[i].records->size();
    bytes[topic_of[i]].first += broker;
    bytes[topic_of[i]].second += outcome.changed ? outcome.records.size() : broker;
  }
  for (size_t t = 0; t < topics.size(); ++t) {
    deps_.fetch_limits->observe(topics[t], bytes[t].first, bytes[t].second);
  }
}

asio::awaitable<RecordEncryptionFilter::PartitionOutcome> RecordEncryptionFilter::decrypt_partition(
    const RequestContext& context, const std::string& topic, int32_t partition,
    const SharedBytes& records) {
  std::vector<kafka::records::RecordsEntry> entries;
  if (Status s = kafka::records::parse_records(records.view(), entries); !s.ok()) {
    // A corrupt batch from the broker: the client sees what it would see without the proxy.
    co_return PartitionOutcome{};
  }
  auto deks = deps_.deks;
  DecryptTransform transform([deks](std::span<const uint8_t> edek) { return deks->find(edek); });
  std::vector<uint8_t> out;  // once a batch changed: the new records so far
  bool building = false;
  thread_local std::vector<uint8_t> batch_out;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& entry = entries[i];
    const size_t offset = static_cast<size_t>(entry.bytes.data() - records.data());
    bool rewritten = false;
    if (entry.kind == kafka::records::EntryKind::kBatch && !entry.batch.header.is_control()) {
      std::optional<Error> failure;
      // Up to kMaxDekWaits DEKs are fetched per batch, and the batch always runs again after
      // the last one arrived (a batch copied together from several DEKs' records needs one
      // fetch per DEK).
      constexpr int kMaxDekWaits = 3;
      for (int waits = 0;; ++waits) {
        transform.reset();
        batch_out.clear();
        thread_local kafka::records::BatchRewriter rewriter;
        // Once the output is being built, the batch is appended to it straight away (a batch
        // that fails or needs no change leaves it untouched); before that, it goes to batch_out
        // until it is known that the partition changes.
        std::vector<uint8_t>& target = building ? out : batch_out;
        auto r = rewriter.rewrite_values_if_needed(entry.batch, transform, target);
        if (r.ok()) {
          rewritten = *r;
          failure.reset();
          break;
        }
        failure = r.error();
        if (!transform.missing_dek() || waits == kMaxDekWaits) {
          break;
        }
        // Not cached: wait for the key broker (concurrent misses share one unwrap), then run
        // the batch again.
        std::vector<uint8_t> edek = transform.missing_edek();
        std::function<void(std::function<void(Result<DekPtr>)>)> start =
            [deks, edek, topic](std::function<void(Result<DekPtr>)> done) {
              deks->get(edek, topic, std::move(done));
            };
        auto dek =
            co_await proxy::await_callback<Result<DekPtr>>(context.executor, std::move(start));
        if (!dek.ok()) {
          failure = dek.error();
          break;
        }
      }
      if (failure) {
        const bool transient = is_transient(*failure);
        LOG_EVERY_N(WARNING, 100) << "cannot decrypt records of " << topic << "-" << partition
                                  << " at offset " << transform.failed_offset() << " ("
                                  << (transient ? "will retry" : "permanent")
                                  << "): " << failure->to_string() << " [logged every 100th]";
        if (deps_.metrics) {
          deps_.metrics->fetch_failure(transient ? PartitionFailure::kKeyBrokerUnavailable
                                                 : PartitionFailure::kUndecryptable);
        }
        PartitionOutcome o = PartitionOutcome::failure(
            transient ? kUnknownServerError : kCorruptMessage,
            transient ? PartitionFailure::kKeyBrokerUnavailable : PartitionFailure::kUndecryptable,
            "cannot decrypt the record at offset " + std::to_string(transform.failed_offset()) +
                ": " + failure->message);
        if (offset > 0) {
          // Deliver what precedes the bad batch; the next fetch starts at it.
          o.cut_short = true;
          o.changed = true;
          o.records = building ? SharedBytes(std::move(out)) : records.slice(0, offset);
        }
        co_return o;
      }
    }
    if (rewritten) {
      if (!building) {
        out.reserve(records.size() + records.size() / 8);
        out.assign(records.data(), records.data() + offset);
        out.insert(out.end(), batch_out.begin(), batch_out.end());
        building = true;
      }
    } else if (building) {
      out.insert(out.end(), entry.bytes.begin(), entry.bytes.end());
    }
  }
  if (deps_.metrics && transform.decrypted() > 0) {
    deps_.metrics->decrypted(transform.decrypted());
  }
  PartitionOutcome o;
  if (building) {
    o.changed = true;
    o.records = SharedBytes(std::move(out));
  }
  co_return o;
}

asio::awaitable<std::vector<RecordEncryptionFilter::PartitionOutcome>>
RecordEncryptionFilter::decrypt_partitions(const RequestContext& context,
                                           const std::vector<FetchedPartition>& partitions) {
  std::vector<const SharedBytes*> records;
  records.reserve(partitions.size());
  for (const auto& p : partitions) {
    records.push_back(p.records);
  }
  // Everything decryptable with cached DEKs, shared with the helper threads; what needs a DEK
  // from the key broker, or fails, goes through decrypt_partition() one partition at a time.
  auto deks = deps_.deks;
  CachedDecryptionStats stats;
  auto fast = decrypt_with_cached_deks(
      records, [deks](std::span<const uint8_t> edek) { return deks->find(edek); },
      deps_.helpers.get(), stats);
  if (deps_.metrics) {
    if (stats.decrypted > 0) {
      deps_.metrics->decrypted(stats.decrypted);
    }
    if (stats.shared) {
      deps_.metrics->shared_decryption();
    }
  }
  std::vector<PartitionOutcome> outcomes(partitions.size());
  for (size_t i = 0; i < partitions.size(); ++i) {
    switch (fast[i].outcome) {
      case CachedDecryption::kUnchanged:
        break;
      case CachedDecryption::kDecrypted:
        outcomes[i].changed = true;
        outcomes[i].records = std::move(fast[i].records);
        break;
      case CachedDecryption::kSlowPath:
        outcomes[i] = co_await decrypt_partition(context, partitions[i].topic,
                                                 partitions[i].partition, *partitions[i].records);
        break;
    }
  }
  co_return outcomes;
}

asio::awaitable<Frame> RecordEncryptionFilter::on_fetch_response(const RequestContext& context,
                                                                 Frame response,
                                                                 const kafka::FetchRequest* request,
                                                                 FetchFollowUp* follow) {
  auto decoded = decode(response, kFetch, kafka::MessageKind::kResponse, context.api_version);
  if (!decoded.ok()) {
    throw std::runtime_error("cannot decode a Fetch v" + std::to_string(context.api_version) +
                             " response: " + decoded.error().to_string());
  }
  auto& fetch = *kafka::message_cast<kafka::FetchResponse>(*decoded->body);
  const bool by_id = context.api_version >= kFirstFetchWithTopicIds;
  const bool learning = deps_.fetch_limits && deps_.fetch_limits->enabled();
  std::vector<FetchedPartition> fetched;
  std::vector<kafka::FetchResponse::PartitionData*> targets;
  std::vector<std::string> scale_keys;  // learning: the topics as the requests name them
  std::vector<size_t> topic_of;         // learning: each fetched partition's scale_keys index
  for (auto& topic : fetch.responses) {
    std::optional<std::string> name = topic.topic;
    if (by_id) {
      name = deps_.topic_ids->name(topic.topic_id);
    }
    // Topics the policy leaves in plaintext are not even looked at (byte-identical, no cost).
    if (name && deps_.policy->decide(*name)->action == TopicAction::kPlaintext) {
      continue;
    }
    const std::string label = topic_label(name, topic.topic_id);
    if (learning) {
      scale_keys.push_back(by_id ? FetchLimitScaler::key_of_id(topic.topic_id.data())
                                 : topic.topic);
    }
    for (auto& partition : topic.partitions) {
      if (!partition.records || partition.records->empty()) {
        continue;
      }
      fetched.push_back({label, partition.partition_index, &*partition.records});
      targets.push_back(&partition);
      if (learning) {
        topic_of.push_back(scale_keys.size() - 1);
      }
    }
  }
  if (fetched.empty()) {
    if (request != nullptr) {
      *follow = follow_up(*request, fetch, context.api_version);
    }
    decoded->body.reset();
    co_return response;
  }
  std::vector<PartitionOutcome> outcomes = co_await decrypt_partitions(context, fetched);
  if (learning) {
    learn_fetch_sizes(scale_keys, topic_of, fetched, outcomes);
  }
  bool changed = false;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    PartitionOutcome& outcome = outcomes[i];
    auto& partition = *targets[i];
    if (outcome.failed && !outcome.cut_short) {
      partition.error_code = outcome.error_code;
      partition.records = SharedBytes();
      changed = true;
    } else if (outcome.changed) {
      partition.records = std::move(outcome.records);
      changed = true;
    }
  }
  if (request != nullptr) {
    *follow = follow_up(*request, fetch, context.api_version);
  }
  if (!changed) {
    decoded->body.reset();
    co_return response;
  }
  auto rebuilt = reassemble(response, decoded->header_bytes, fetch, context.api_version);
  if (!rebuilt.ok()) {
    throw std::runtime_error("cannot encode a Fetch response: " + rebuilt.error().to_string());
  }
  co_return std::move(*rebuilt);
}

asio::awaitable<Frame> RecordEncryptionFilter::on_share_fetch_response(
    const RequestContext& context, Frame response) {
  auto decoded = decode(response, kShareFetch, kafka::MessageKind::kResponse, context.api_version);
  if (!decoded.ok()) {
    throw std::runtime_error("cannot decode a ShareFetch response: " + decoded.error().to_string());
  }
  auto& fetch = *kafka::message_cast<kafka::ShareFetchResponse>(*decoded->body);
  std::vector<FetchedPartition> fetched;
  std::vector<kafka::ShareFetchResponse::PartitionData*> targets;
  for (auto& topic : fetch.responses) {
    std::optional<std::string> name = deps_.topic_ids->name(topic.topic_id);
    if (name && deps_.policy->decide(*name)->action == TopicAction::kPlaintext) {
      continue;
    }
    const std::string label = topic_label(name, topic.topic_id);
    for (auto& partition : topic.partitions) {
      if (partition.records.empty()) {
        continue;
      }
      fetched.push_back({label, partition.partition_index, &partition.records});
      targets.push_back(&partition);
    }
  }
  if (fetched.empty()) {
    decoded->body.reset();
    co_return response;
  }
  std::vector<PartitionOutcome> outcomes = co_await decrypt_partitions(context, fetched);
  bool changed = false;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    PartitionOutcome& outcome = outcomes[i];
    auto& partition = *targets[i];
    if (outcome.failed) {
      // Share groups acquire records by offset range: delivering part of the range would
      // make the consumer treat the rest as gaps. Fail the whole partition instead; the
      // acquisition lock runs out and the records are delivered again.
      partition.error_code = outcome.error_code;
      partition.error_message = outcome.message;
      partition.records = SharedBytes();
      partition.acquired_records.clear();
      changed = true;
    } else if (outcome.changed) {
      partition.records = std::move(outcome.records);
      changed = true;
    }
  }
  if (!changed) {
    decoded->body.reset();
    co_return response;
  }
  auto rebuilt = reassemble(response, decoded->header_bytes, fetch, context.api_version);
  if (!rebuilt.ok()) {
    throw std::runtime_error("cannot encode a ShareFetch response: " + rebuilt.error().to_string());
  }
  co_return std::move(*rebuilt);
}

asio::awaitable<Frame> RecordEncryptionFilter::on_response(const RequestContext& context,
                                                           Frame response) {
  if (context.api_key == kFetch) {
    std::shared_ptr<PredictedFetch> sent;
    std::shared_ptr<FetchReadAhead> ahead;
    if (context.state) {
      sent = context.state->get<PredictedFetch>(this);
      ahead = sent ? read_ahead_of(context) : nullptr;
    }
    if (!ahead) {
      co_return co_await on_fetch_response(context, std::move(response));
    }
    FetchFollowUp follow;
    Frame decrypted =
        co_await on_fetch_response(context, std::move(response), &sent->request, &follow);
    if (follow.next) {
      read_ahead(context, ahead, PredictedFetch{sent->header, std::move(*follow.next)});
    }
    co_return decrypted;
  }
  if (context.api_key == kShareFetch) {
    co_return co_await on_share_fetch_response(context, std::move(response));
  }
  // Produce: merge the partitions this filter answered itself, if any.
  std::shared_ptr<ProduceFailures> failures;
  if (context.state) {
    failures = context.state->get<ProduceFailures>(this);
  }
  if (!failures || failures->empty()) {
    co_return response;
  }
  co_return merge_produce_failures(context, std::move(response), *failures);
}

}  // namespace kenc::record_encryption
