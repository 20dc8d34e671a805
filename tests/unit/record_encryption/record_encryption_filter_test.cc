// The record-encryption filter driven directly (no sockets): Produce requests and Fetch /
// ShareFetch responses built with the protocol library, a fake key broker behind the lease
// pool and the DEK cache. The real-Kafka end-to-end tests are in tests/integration/encryption/.
#include "proxy/filters/record_encryption/record_encryption_filter.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/crypto/cipher_record.h"
#include "common/crypto/edek.h"
#include "common/kafka/protocol/generated/fetch_request.h"
#include "common/kafka/protocol/generated/fetch_response.h"
#include "common/kafka/protocol/generated/metadata_request.h"
#include "common/kafka/protocol/generated/metadata_response.h"
#include "common/kafka/protocol/generated/produce_request.h"
#include "common/kafka/protocol/generated/produce_response.h"
#include "common/kafka/protocol/generated/share_fetch_response.h"
#include "common/kafka/protocol/headers.h"
#include "common/kafka/protocol/reader.h"
#include "common/kafka/protocol/writer.h"
#include "common/kafka/records/batch_builder.h"
#include "common/kafka/records/batch_rewriter.h"
#include "common/kafka/records/big_endian.h"
#include "common/kafka/records/record_batch.h"

namespace kenc::record_encryption {
namespace {

using kafka::records::BatchBuilder;
using kafka::records::BatchHeader;
using kafka::records::Codec;
using kafka::records::HeaderInput;
using kafka::records::NullableBytes;
using proxy::Frame;

constexpr int16_t kProduceVersion = 11;
constexpr int16_t kFetchVersion = 12;  // names topics (v13+ uses ids)

// A key broker in memory: one DEK per alias, unwraps by EDEK; failures on demand.
struct FakeKeyBroker {
  std::map<std::string, std::vector<uint8_t>> edeks;          // alias -> EDEK
  std::map<std::vector<uint8_t>, std::vector<uint8_t>> keys;  // EDEK -> DEK
  std::optional<Error> lease_error;
  std::optional<Error> unwrap_error;
  std::atomic<int> leases{0};
  std::atomic<int> unwraps{0};
  uint32_t next_lease_number = 0;
  uint64_t budget = 1000;

  LeaseFn lease_fn() {
    return [this](const std::string& alias, const std::string&, uint64_t, LeaseDone done) {
      ++leases;
      if (lease_error) {
        done(*lease_error);
        return;
      }
      if (!edeks.contains(alias)) {
        std::vector<uint8_t> key(32, static_cast<uint8_t>(edeks.size() + 1));
        auto edek = crypto::serialize_edek(
            crypto::Edek{"kek-" + alias, 1, std::vector<uint8_t>(28, static_cast<uint8_t>(7))});
        auto e = *edek;
        e.back() = static_cast<uint8_t>(edeks.size());  // distinct per alias
        edeks[alias] = e;
        keys[e] = key;
      }
      GrantedLease g;
      const auto& key = keys[edeks[alias]];
      g.dek = crypto::SecureBytes(std::vector<uint8_t>(key.begin(), key.end()));
      g.edek = edeks[alias];
      g.lease_number = next_lease_number++;
      g.encryption_budget = budget;
      g.expires_at = std::chrono::system_clock::now() + std::chrono::hours(1);
      done(std::move(g));
    };
  }

  UnwrapFn unwrap_fn() {
    return [this](std::span<const uint8_t> edek, const std::string&, UnwrapDone done) {
      ++unwraps;
      if (unwrap_error) {
        done(*unwrap_error);
        return;
      }
      auto it = keys.find(std::vector<uint8_t>(edek.begin(), edek.end()));
      if (it == keys.end()) {
        done(make_error(ErrorCode::kNotFound, "no such KEK"));
        return;
      }
      done(crypto::SecureBytes(std::vector<uint8_t>(it->second.begin(), it->second.end())));
    };
  }
};

struct TestRecord {
  std::string key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t timestamp_delta = 0;
};

std::vector<uint8_t> make_batch(const std::vector<TestRecord>& records, Codec codec,
                                int64_t base_offset = 0) {
  BatchHeader h;
  h.base_offset = base_offset;
  h.base_timestamp = 1'700'000'000'000;
  h.max_timestamp = h.base_timestamp + 10;
  h.producer_id = 4242;
  h.producer_epoch = 3;
  h.base_sequence = 17;
  h.set_codec(codec);
  BatchBuilder builder(h);
  int32_t delta = 0;
  for (const auto& r : records) {
    std::vector<HeaderInput> headers;
    for (const auto& [k, v] : r.headers) headers.push_back({k, NullableBytes::of(v)});
    builder.add(r.timestamp_delta, delta++, NullableBytes::of(r.key),
                r.value ? NullableBytes::of(*r.value) : NullableBytes::null(), headers);
  }
  std::vector<uint8_t> out;
  EXPECT_TRUE(builder.finish(out).ok());
  return out;
}

// Patches the 4-byte size prefix of a frame written by a Writer that started with int32 0.
Frame finish_frame(ByteBuffer bytes) {
  const auto size = static_cast<uint32_t>(bytes.size() - 4);
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(size >> (24 - 8 * i));
  return Frame{std::move(bytes)};
}

// A client's request frame: header (correlation id 99, client id "unit") and `body`.
template <typename Body>
Frame request_frame(const Body& body, int16_t api_key, int16_t version) {
  kafka::Writer w;
  w.write_int32(0);
  kafka::RequestHeader h;
  h.api_key = api_key;
  h.api_version = version;
  h.correlation_id = 99;
  h.client_id = "unit";
  EXPECT_TRUE(h.encode(w, *kafka::request_header_version(api_key, version)).ok());
  EXPECT_TRUE(body.encode(w, version).ok());
  return finish_frame(w.take_bytes());
}

using PartitionRecords = std::vector<std::pair<int32_t, std::vector<uint8_t>>>;
using TopicRecords = std::vector<std::pair<std::string, PartitionRecords>>;

Frame produce_frame(const TopicRecords& topics, int16_t version = kProduceVersion,
                    int16_t acks = -1, const std::map<std::string, kafka::Uuid>& ids = {}) {
  kafka::ProduceRequest req;
  req.acks = acks;
  req.timeout_ms = 30000;
  for (const auto& [name, partitions] : topics) {
    kafka::ProduceRequest::TopicProduceData t;
    if (version >= 13) {
      t.topic_id = ids.at(name);
    } else {
      t.name = name;
    }
    for (const auto& [index, bytes] : partitions) {
      kafka::ProduceRequest::PartitionProduceData p;
      p.index = index;
      p.records = SharedBytes(bytes);
      t.partition_data.push_back(std::move(p));
    }
    req.topic_data.push_back(std::move(t));
  }
  return request_frame(req, 0, version);
}

template <typename Body>
Body decode_body(const Frame& frame, int16_t api_key, int16_t version, kafka::MessageKind kind) {
  kafka::Reader reader(
      SharedBytes(std::vector<uint8_t>(frame.payload().begin(), frame.payload().end())));
  if (kind == kafka::MessageKind::kRequest) {
    kafka::RequestHeader h;
    EXPECT_TRUE(h.decode(reader, *kafka::request_header_version(api_key, version)).ok());
  } else {
    kafka::ResponseHeader h;
    EXPECT_TRUE(h.decode(reader, *kafka::response_header_version(api_key, version)).ok());
  }
  Body body;
  EXPECT_TRUE(body.decode(reader, version).ok());
  return body;
}

template <typename Body>
Frame response_frame(const Body& body, int16_t api_key, int16_t version) {
  kafka::Writer w;
  w.write_int32(0);
  kafka::ResponseHeader h;
  h.correlation_id = 99;
  EXPECT_TRUE(h.encode(w, *kafka::response_header_version(api_key, version)).ok());
  EXPECT_TRUE(body.encode(w, version).ok());
  return finish_frame(w.take_bytes());
}

Frame fetch_frame(const std::string& topic, const std::vector<std::vector<uint8_t>>& partitions,
                  int16_t version = kFetchVersion) {
  kafka::FetchResponse resp;
  kafka::FetchResponse::FetchableTopicResponse t;
  t.topic = topic;
  for (size_t i = 0; i < partitions.size(); ++i) {
    kafka::FetchResponse::PartitionData p;
    p.partition_index = static_cast<int32_t>(i);
    p.high_watermark = 100;
    p.records = SharedBytes(partitions[i]);
    t.partitions.push_back(std::move(p));
  }
  resp.responses.push_back(std::move(t));
  return response_frame(resp, 1, version);
}

// A consumer's Fetch request: every partition of `topics` (by name, or by id from v13) with a
// limit of `partition_max_bytes`, the response limited to `max_bytes`.
Frame fetch_request_frame(const std::vector<std::string>& topics, int32_t partition_max_bytes,
                          int32_t max_bytes, int16_t version = kFetchVersion,
                          const std::map<std::string, kafka::Uuid>& ids = {}) {
  kafka::FetchRequest req;
  req.max_wait_ms = 500;
  req.min_bytes = 1;
  req.max_bytes = max_bytes;
  for (const auto& name : topics) {
    kafka::FetchRequest::FetchTopic t;
    if (version >= 13) {
      t.topic_id = ids.at(name);
    } else {
      t.topic = name;
    }
    kafka::FetchRequest::FetchPartition p;
    p.partition = 0;
    p.fetch_offset = 1234;
    p.partition_max_bytes = partition_max_bytes;
    t.partitions.push_back(p);
    req.topics.push_back(std::move(t));
  }
  return request_frame(req, 1, version);
}

// Every record of a records blob, decoded.
struct SeenRecord {
  std::string key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t timestamp_delta;
  BatchHeader batch;
};
std::vector<SeenRecord> read_records(std::span<const uint8_t> blob) {
  std::vector<kafka::records::RecordsEntry> entries;
  EXPECT_TRUE(kafka::records::parse_records(blob, entries).ok());
  std::vector<SeenRecord> out;
  kafka::records::BatchRewriter rewriter;
  for (const auto& e : entries) {
    std::span<const uint8_t> section;
    EXPECT_TRUE(rewriter.records_section(e.batch, section).ok());
    kafka::records::RecordReader reader(section, e.batch.header.record_count);
    kafka::records::RecordView r;
    while (reader.next(r)) {
      SeenRecord s;
      s.key = std::string(r.key.as_string());
      if (!r.value.is_null()) s.value = std::string(r.value.as_string());
      auto hr = r.headers();
      kafka::records::HeaderView hv;
      while (hr.next(hv))
        s.headers.emplace_back(std::string(hv.key_string()), std::string(hv.value.as_string()));
      s.timestamp_delta = r.timestamp_delta;
      s.batch = e.batch.header;
      out.push_back(std::move(s));
    }
  }
  return out;
}

// A request the filter sent upstream (header v2: every API the filter sends upstream is
// flexible at the versions it uses), decoded.
template <typename Body>
struct SentRequest {
  kafka::RequestHeader header;
  Body body;
};
template <typename Body>
SentRequest<Body> decode_sent(const Frame& request) {
  auto payload = request.payload();
  kafka::Reader r(SharedBytes(std::vector<uint8_t>(payload.begin(), payload.end())));
  SentRequest<Body> sent;
  EXPECT_TRUE(sent.header.decode(r, 2).ok());
  EXPECT_TRUE(sent.body.decode(r, sent.header.api_version).ok());
  return sent;
}

// The broker's answer to a request the filter sent upstream.
template <typename Body>
Frame answer_frame(const kafka::RequestHeader& request, const Body& body) {
  kafka::Writer w;
  w.write_int32(0);
  kafka::ResponseHeader rh;
  rh.correlation_id = request.correlation_id;
  EXPECT_TRUE(
      rh.encode(w, *kafka::response_header_version(request.api_key, request.api_version)).ok());
  EXPECT_TRUE(body.encode(w, request.api_version).ok());
  return finish_frame(w.take_bytes());
}

// The broker side of the filter's own Metadata requests: names the topic ids it knows.
class NamingUpstream final : public proxy::UpstreamChannel {
 public:
  std::map<kafka::Uuid, std::string> topics;
  int requests = 0;

  asio::awaitable<Result<Frame>> send(Frame request) override {
    ++requests;
    auto sent = decode_sent<kafka::MetadataRequest>(request);
    kafka::MetadataResponse response;
    for (const auto& t : *sent.body.topics) {
      kafka::MetadataResponse::MetadataResponseTopic out;
      out.topic_id = t.topic_id;
      if (auto it = topics.find(t.topic_id); it != topics.end()) {
        out.name = it->second;
      } else {
        out.error_code = 100;
        out.name = std::nullopt;
      }
      response.topics.push_back(out);
    }
    co_return answer_frame(sent.header, response);
  }
};

class FilterTest : public ::testing::Test {
 protected:
  void make_filter(const std::string& policy_yaml, bool encrypt_headers = false,
                   std::shared_ptr<FetchLimitScaler> fetch_limits = nullptr,
                   std::shared_ptr<ReadAheadBudget> read_ahead = nullptr) {
    RecordEncryptionDeps deps;
    deps.fetch_limits = std::move(fetch_limits);
    deps.read_ahead = std::move(read_ahead);
    deps.policy = std::make_shared<const TopicPolicy>(
        TopicPolicy::from_yaml(YAML::Load(policy_yaml), "encryption.topics"));
    deps.leases = std::make_shared<DekLeasePool>(DekLeasePoolOptions{}, kb.lease_fn());
    deps.deks = std::make_shared<DekCache>(DekCacheOptions{}, kb.unwrap_fn());
    deps.topic_ids = topic_ids;
    deps.encrypt_headers = encrypt_headers;
    filter = std::make_unique<RecordEncryptionFilter>(std::move(deps));
  }

  proxy::RequestContext context(int16_t api_key, int16_t version) {
    proxy::RequestContext c;
    c.api_key = api_key;
    c.api_version = version;
    c.correlation_id = 99;
    c.virtual_cluster = "unit";
    c.executor = io.get_executor();
    c.state = state;
    c.upstream = upstream;
    c.connection_state = &connection_state;
    c.upstream_handle = upstream_handle;
    return c;
  }

  proxy::RequestVerdict request(Frame frame, int16_t version = kProduceVersion,
                                int16_t api_key = 0) {
    std::optional<proxy::RequestVerdict> verdict;
    auto ctx = context(api_key, version);
    asio::co_spawn(io, filter->on_request(ctx, std::move(frame)),
                   [&](std::exception_ptr e, proxy::RequestVerdict v) {
                     if (e) std::rethrow_exception(e);
                     verdict = std::move(v);
                   });
    io.restart();
    io.run();
    EXPECT_TRUE(verdict.has_value());
    return std::move(*verdict);
  }

  Frame response(int16_t api_key, int16_t version, Frame frame) {
    std::optional<Frame> out;
    auto ctx = context(api_key, version);
    asio::co_spawn(io, filter->on_response(ctx, std::move(frame)),
                   [&](std::exception_ptr e, Frame f) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(f);
                   });
    io.restart();
    io.run();
    EXPECT_TRUE(out.has_value());
    return std::move(*out);
  }

  // Produces through the filter and returns the records forwarded for topic/partition 0.
  std::vector<uint8_t> forwarded_records(const proxy::RequestVerdict& v, size_t topic = 0) {
    const auto* fwd = std::get_if<proxy::ForwardRequest>(&v);
    EXPECT_NE(fwd, nullptr);
    if (fwd == nullptr) return {};
    auto req = decode_body<kafka::ProduceRequest>(fwd->request, 0, kProduceVersion,
                                                  kafka::MessageKind::kRequest);
    auto view = req.topic_data.at(topic).partition_data.at(0).records->view();
    return {view.begin(), view.end()};
  }

  static constexpr const char* kPolicy = R"yaml(
rules:
  - prefix: "enc-"
    kek: "KEK_$(topicName)"
  - exact: "public"
    plaintext: true
)yaml";

  asio::io_context io;
  FakeKeyBroker kb;
  std::shared_ptr<proxy::RequestState> state = std::make_shared<proxy::RequestState>();
  std::shared_ptr<proxy::address_rewrite::TopicIdMap> topic_ids =
      std::make_shared<proxy::address_rewrite::TopicIdMap>();
  std::unique_ptr<RecordEncryptionFilter> filter;
  proxy::UpstreamChannel* upstream = nullptr;
  std::weak_ptr<proxy::UpstreamChannel> upstream_handle;
  proxy::RequestState connection_state;
};

const std::vector<TestRecord> kRecords = {
    {"k1", "the first secret value", {{"h1", "v1"}}, 0},
    {"k2", std::nullopt, {}, 3},  // a tombstone stays null and unencrypted
    {"k3", "", {{"a", "b"}, {"c", "d"}}, 7},
    {"k4", std::string(5000, 'x'), {}, 9},
};

TEST_F(FilterTest, EncryptsOnProduceAndDecryptsOnFetchWithEveryCodec) {
  make_filter(kPolicy);
  for (Codec codec : {Codec::kNone, Codec::kGzip, Codec::kSnappy, Codec::kLz4, Codec::kZstd}) {
    SCOPED_TRACE(static_cast<int>(codec));
    auto batch = make_batch(kRecords, codec);
    auto verdict = request(produce_frame({{"enc-orders", {{0, batch}}}}));
    auto stored = forwarded_records(verdict);

    // What the broker stores: cipher records, every batch field and everything but the values
    // as produced.
    auto seen = read_records(stored);
    ASSERT_EQ(seen.size(), kRecords.size());
    for (size_t i = 0; i < seen.size(); ++i) {
      EXPECT_EQ(seen[i].key, kRecords[i].key);
      EXPECT_EQ(seen[i].timestamp_delta, kRecords[i].timestamp_delta);
      EXPECT_EQ(seen[i].batch.producer_id, 4242);
      EXPECT_EQ(seen[i].batch.producer_epoch, 3);
      EXPECT_EQ(seen[i].batch.base_sequence, 17);
      EXPECT_EQ(seen[i].batch.codec(), codec);
      if (!kRecords[i].value) {
        EXPECT_FALSE(seen[i].value.has_value());
        EXPECT_EQ(seen[i].headers, kRecords[i].headers);
        continue;
      }
      ASSERT_TRUE(seen[i].value.has_value());
      EXPECT_EQ(seen[i].value->find("secret"), std::string::npos);
      EXPECT_GT(seen[i].value->size(), kRecords[i].value->size());
      ASSERT_EQ(seen[i].headers.size(), kRecords[i].headers.size() + 1);
      EXPECT_EQ(seen[i].headers.back().first, "kenc");
      EXPECT_EQ(seen[i].headers.back().second, std::string(1, '\x01'));
    }

    // Fetched back through the filter: the original records.
    auto fetched = response(1, kFetchVersion, fetch_frame("enc-orders", {stored}));
    auto resp =
        decode_body<kafka::FetchResponse>(fetched, 1, kFetchVersion, kafka::MessageKind::kResponse);
    auto& p = resp.responses.at(0).partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    auto plain = read_records(p.records->view());
    ASSERT_EQ(plain.size(), kRecords.size());
    for (size_t i = 0; i < plain.size(); ++i) {
      EXPECT_EQ(plain[i].key, kRecords[i].key);
      EXPECT_EQ(plain[i].value, kRecords[i].value);
      EXPECT_EQ(plain[i].headers, kRecords[i].headers);
      EXPECT_EQ(plain[i].timestamp_delta, kRecords[i].timestamp_delta);
    }
  }
  // One lease served every batch; the DEK of the fetches was cached from the first unwrap.
  EXPECT_EQ(kb.leases.load(), 1);
  EXPECT_EQ(kb.unwraps.load(), 1);
}

TEST_F(FilterTest, HeaderEncryptionHidesHeadersAndRestoresThem) {
  make_filter(kPolicy, /*encrypt_headers=*/true);
  auto stored = forwarded_records(
      request(produce_frame({{"enc-h", {{0, make_batch(kRecords, Codec::kZstd)}}}})));
  auto seen = read_records(stored);
  ASSERT_EQ(seen.size(), kRecords.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!kRecords[i].value) {
      EXPECT_EQ(seen[i].headers, kRecords[i].headers) << "tombstones are never encrypted";
      continue;
    }
    // Only the marker is visible: version 2 when the record had headers, else version 1.
    ASSERT_EQ(seen[i].headers.size(), 1u);
    EXPECT_EQ(seen[i].headers[0].first, "kenc");
    EXPECT_EQ(seen[i].headers[0].second,
              std::string(1, kRecords[i].headers.empty() ? '\x01' : '\x02'));
    for (const auto& [k, v] : kRecords[i].headers) {
      EXPECT_EQ(seen[i].value->find(v), std::string::npos);
    }
  }
  // A proxy without header encryption still reads them (the format version says what to do).
  make_filter(kPolicy, /*encrypt_headers=*/false);
  auto fetched = response(1, kFetchVersion, fetch_frame("enc-h", {stored}));
  auto resp =
      decode_body<kafka::FetchResponse>(fetched, 1, kFetchVersion, kafka::MessageKind::kResponse);
  auto plain = read_records(resp.responses.at(0).partitions.at(0).records->view());
  ASSERT_EQ(plain.size(), kRecords.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(plain[i].value, kRecords[i].value);
    EXPECT_EQ(plain[i].headers, kRecords[i].headers);
  }
}

TEST_F(FilterTest, AProduceVersionTheProxyCannotDecodeIsRefusedNotForwarded) {
  make_filter(kPolicy);
  EXPECT_TRUE(filter->handles_request(0, 14));
  EXPECT_TRUE(filter->handles_request(0, 2));
  Frame frame = produce_frame({{"enc-v", {{0, make_batch(kRecords, Codec::kNone)}}}});
  frame.bytes[7] = 14;  // the request header's api_version (low byte)
  auto ctx = context(0, 14);
  bool threw = false;
  asio::co_spawn(io, filter->on_request(ctx, std::move(frame)),
                 [&](std::exception_ptr e, proxy::RequestVerdict) { threw = e != nullptr; });
  io.restart();
  io.run();
  EXPECT_TRUE(threw) << "the connection must be closed";
}

TEST_F(FilterTest, ABatchEncryptionPushedOverTheSizeLimitGetsANonSplittableError) {
  // The broker refuses the encrypted batch with MESSAGE_TOO_LARGE. For several uncompressed
  // records the Java producer would split by batch.size into the same batch and resend it
  // forever: the proxy answers RECORD_LIST_TOO_LARGE instead. Compressed batches keep
  // MESSAGE_TOO_LARGE: there the split does make smaller batches.
  make_filter(kPolicy);
  for (Codec codec : {Codec::kNone, Codec::kLz4}) {
    state = std::make_shared<proxy::RequestState>();
    auto verdict = request(produce_frame({{"enc-big", {{0, make_batch(kRecords, codec)}}}}));
    ASSERT_NE(std::get_if<proxy::ForwardRequest>(&verdict), nullptr);
    kafka::ProduceResponse broker;
    kafka::ProduceResponse::TopicProduceResponse t;
    t.name = "enc-big";
    t.partition_responses.emplace_back();
    t.partition_responses.back().index = 0;
    t.partition_responses.back().error_code = 10;  // MESSAGE_TOO_LARGE
    broker.responses.push_back(t);
    auto out = response(0, kProduceVersion, response_frame(broker, 0, kProduceVersion));
    auto resp =
        decode_body<kafka::ProduceResponse>(out, 0, kProduceVersion, kafka::MessageKind::kResponse);
    const auto& p = resp.responses.at(0).partition_responses.at(0);
    if (codec == Codec::kNone) {
      EXPECT_EQ(p.error_code, 18);  // RECORD_LIST_TOO_LARGE
      ASSERT_TRUE(p.error_message.has_value());
      EXPECT_NE(p.error_message->find("batch.size"), std::string::npos);
    } else {
      EXPECT_EQ(p.error_code, 10);
    }
  }
}

TEST_F(FilterTest, PlaintextTopicsAreForwardedByteForByte) {
  make_filter(kPolicy);
  Frame original = produce_frame({{"public", {{0, make_batch(kRecords, Codec::kLz4)}}}});
  auto copy = original.bytes;
  auto verdict = request(std::move(original));
  auto* fwd = std::get_if<proxy::ForwardRequest>(&verdict);
  ASSERT_NE(fwd, nullptr);
  EXPECT_EQ(fwd->request.bytes, copy);
  EXPECT_EQ(kb.leases.load(), 0);

  Frame fetch = fetch_frame("public", {make_batch(kRecords, Codec::kNone)});
  auto fetch_copy = fetch.bytes;
  EXPECT_EQ(response(1, kFetchVersion, std::move(fetch)).bytes, fetch_copy);
}

TEST_F(FilterTest, UnmatchedTopicIsRejectedWithAnErrorNamingIt) {
  make_filter(kPolicy);
  auto verdict = request(produce_frame({{"other", {{0, make_batch(kRecords, Codec::kNone)}}}}));
  auto* answer = std::get_if<proxy::AnswerRequest>(&verdict);
  ASSERT_NE(answer, nullptr) << "nothing may be forwarded for a rejected topic";
  auto resp = decode_body<kafka::ProduceResponse>(answer->response, 0, kProduceVersion,
                                                  kafka::MessageKind::kResponse);
  ASSERT_EQ(resp.responses.size(), 1u);
  EXPECT_EQ(resp.responses[0].name, "other");
  const auto& p = resp.responses[0].partition_responses.at(0);
  EXPECT_EQ(p.error_code, 87);  // INVALID_RECORD: not retriable
  ASSERT_TRUE(p.error_message.has_value());
  EXPECT_NE(p.error_message->find("'other'"), std::string::npos);
}

TEST_F(FilterTest, KeyBrokerOutageFailsOnlyTheEncryptedPartitionsWithARetriableError) {
  make_filter(kPolicy);
  kb.lease_error = make_error(ErrorCode::kUnavailable, "key broker down");
  auto verdict = request(produce_frame({{"enc-a", {{0, make_batch(kRecords, Codec::kNone)}}},
                                        {"public", {{3, make_batch(kRecords, Codec::kNone)}}}}));
  auto* fwd = std::get_if<proxy::ForwardRequest>(&verdict);
  ASSERT_NE(fwd, nullptr);
  auto req = decode_body<kafka::ProduceRequest>(fwd->request, 0, kProduceVersion,
                                                kafka::MessageKind::kRequest);
  ASSERT_EQ(req.topic_data.size(), 1u) << "the encrypted topic must not be forwarded";
  EXPECT_EQ(req.topic_data[0].name, "public");

  // The broker answers for `public`; the filter adds `enc-a` with a retriable error.
  kafka::ProduceResponse broker;
  kafka::ProduceResponse::TopicProduceResponse t;
  t.name = "public";
  t.partition_responses.push_back({});
  t.partition_responses.back().index = 3;
  broker.responses.push_back(t);
  auto merged = response(0, kProduceVersion, response_frame(broker, 0, kProduceVersion));
  auto resp = decode_body<kafka::ProduceResponse>(merged, 0, kProduceVersion,
                                                  kafka::MessageKind::kResponse);
  ASSERT_EQ(resp.responses.size(), 2u);
  EXPECT_EQ(resp.responses[1].name, "enc-a");
  EXPECT_EQ(resp.responses[1].partition_responses.at(0).error_code, 7);  // REQUEST_TIMED_OUT
  EXPECT_EQ(resp.responses[0].partition_responses.at(0).error_code, 0);

  // Retriable errors are not remembered: the next request asks the key broker again.
  kb.lease_error.reset();
  auto again = request(produce_frame({{"enc-a", {{0, make_batch(kRecords, Codec::kNone)}}}}));
  EXPECT_NE(std::get_if<proxy::ForwardRequest>(&again), nullptr);
}

TEST_F(FilterTest, UnknownKekIsRejectedOrPassedThroughAsConfigured) {
  make_filter(kPolicy);
  kb.lease_error = make_error(ErrorCode::kNotFound, "no KEK KEK_enc-x");
  auto verdict = request(produce_frame({{"enc-x", {{0, make_batch(kRecords, Codec::kNone)}}}}));
  auto* answer = std::get_if<proxy::AnswerRequest>(&verdict);
  ASSERT_NE(answer, nullptr);
  auto resp = decode_body<kafka::ProduceResponse>(answer->response, 0, kProduceVersion,
                                                  kafka::MessageKind::kResponse);
  EXPECT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 87);

  make_filter(std::string(kPolicy) + "unresolved_kek: passthrough\n");
  auto batch = make_batch(kRecords, Codec::kNone);
  auto pass = request(produce_frame({{"enc-x", {{0, batch}}}}));
  EXPECT_EQ(forwarded_records(pass), batch);
}

TEST_F(FilterTest, ARecordCarryingTheReservedHeaderIsRefused) {
  make_filter(kPolicy);
  auto forged = make_batch({{"k", "v", {{"kenc", "\x01"}}, 0}}, Codec::kNone);
  auto verdict = request(produce_frame({{"enc-orders", {{0, forged}}}}));
  auto* answer = std::get_if<proxy::AnswerRequest>(&verdict);
  ASSERT_NE(answer, nullptr);
  auto resp = decode_body<kafka::ProduceResponse>(answer->response, 0, kProduceVersion,
                                                  kafka::MessageKind::kResponse);
  EXPECT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 87);
}

TEST_F(FilterTest, ProduceByTopicIdNeedsAKnownId) {
  make_filter(kPolicy);
  kafka::Uuid id{};
  id[0] = 0x42;
  auto batch = make_batch(kRecords, Codec::kNone);
  auto unknown = request(produce_frame({{"enc-ids", {{0, batch}}}}, 13, -1, {{"enc-ids", id}}), 13);
  auto* answer = std::get_if<proxy::AnswerRequest>(&unknown);
  ASSERT_NE(answer, nullptr);
  auto resp =
      decode_body<kafka::ProduceResponse>(answer->response, 0, 13, kafka::MessageKind::kResponse);
  EXPECT_EQ(resp.responses.at(0).topic_id, id);
  EXPECT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 100);  // UNKNOWN_TOPIC_ID

  // With an upstream, the filter asks the broker itself; an id the broker does not know either
  // still gets UNKNOWN_TOPIC_ID.
  NamingUpstream broker;
  upstream = &broker;
  auto still_unknown =
      request(produce_frame({{"enc-ids", {{0, batch}}}}, 13, -1, {{"enc-ids", id}}), 13);
  EXPECT_NE(std::get_if<proxy::AnswerRequest>(&still_unknown), nullptr);
  EXPECT_EQ(broker.requests, 1);

  broker.topics[id] = "enc-ids";
  auto known = request(produce_frame({{"enc-ids", {{0, batch}}}}, 13, -1, {{"enc-ids", id}}), 13);
  auto* fwd = std::get_if<proxy::ForwardRequest>(&known);
  ASSERT_NE(fwd, nullptr);
  EXPECT_EQ(broker.requests, 2);
  EXPECT_EQ(topic_ids->name(id), "enc-ids") << "learned from the filter's own Metadata request";
  auto req = decode_body<kafka::ProduceRequest>(fwd->request, 0, 13, kafka::MessageKind::kRequest);
  auto seen = read_records(req.topic_data.at(0).partition_data.at(0).records->view());
  EXPECT_EQ(seen.at(0).headers.back().first, "kenc");
}

// 300 records of 100-byte values: about half of what the broker returns is cipher overhead.
std::vector<TestRecord> small_records() {
  std::vector<TestRecord> records;
  for (int i = 0; i < 300; ++i) {
    records.push_back(
        {"k" + std::to_string(i), std::string(100, static_cast<char>('a' + i % 26)), {}, i});
  }
  return records;
}

TEST_F(FilterTest, FetchLimitsGrowByWhatDecryptionTakesOffTheTopicsResponses) {
  FetchLimitScaler::Options options;
  options.max_scaled_bytes = 64 * 1024 * 1024;
  make_filter(kPolicy, false, std::make_shared<FetchLimitScaler>(options));
  ASSERT_TRUE(filter->handles_request(1, kFetchVersion));

  // Nothing learned yet: the request goes to the broker byte for byte.
  Frame first = fetch_request_frame({"enc-small", "public"}, 1048576, 52428800);
  const ByteBuffer first_bytes = first.bytes;
  auto untouched = request(std::move(first), kFetchVersion, 1);
  ASSERT_NE(std::get_if<proxy::ForwardRequest>(&untouched), nullptr);
  EXPECT_EQ(std::get<proxy::ForwardRequest>(untouched).request.bytes, first_bytes);

  // A response of cipher records, decrypted: the filter sees how much smaller it became.
  auto stored = forwarded_records(
      request(produce_frame({{"enc-small", {{0, make_batch(small_records(), Codec::kNone)}}}})));
  auto fetched = response(1, kFetchVersion, fetch_frame("enc-small", {stored}));
  auto plain =
      decode_body<kafka::FetchResponse>(fetched, 1, kFetchVersion, kafka::MessageKind::kResponse)
          .responses.at(0)
          .partitions.at(0)
          .records->size();
  const double factor = static_cast<double>(stored.size()) / static_cast<double>(plain);
  ASSERT_GT(factor, 1.5);  // records of 100-byte values and a key, ~100 bytes of overhead each

  // The next request asks the broker for that much more of the encrypted topic; the plaintext
  // topic keeps its limit, the response limit grows up to the bound.
  auto scaled =
      request(fetch_request_frame({"enc-small", "public"}, 1048576, 52428800), kFetchVersion, 1);
  auto* fwd = std::get_if<proxy::ForwardRequest>(&scaled);
  ASSERT_NE(fwd, nullptr);
  auto req = decode_body<kafka::FetchRequest>(fwd->request, 1, kFetchVersion,
                                              kafka::MessageKind::kRequest);
  EXPECT_EQ(req.topics.at(0).partitions.at(0).partition_max_bytes,
            static_cast<int32_t>(1048576 * factor));
  EXPECT_EQ(req.topics.at(1).partitions.at(0).partition_max_bytes, 1048576);
  EXPECT_EQ(req.max_bytes, 64 * 1024 * 1024);
  // Everything else as the client sent it.
  EXPECT_EQ(req.topics.at(0).topic, "enc-small");
  EXPECT_EQ(req.topics.at(0).partitions.at(0).fetch_offset, 1234);
  EXPECT_EQ(req.min_bytes, 1);
  EXPECT_EQ(req.max_wait_ms, 500);

  // A request for plaintext topics only is not touched.
  Frame plain_only = fetch_request_frame({"public"}, 1048576, 52428800);
  const ByteBuffer plain_only_bytes = plain_only.bytes;
  auto kept = request(std::move(plain_only), kFetchVersion, 1);
  EXPECT_EQ(std::get<proxy::ForwardRequest>(kept).request.bytes, plain_only_bytes);
}

TEST_F(FilterTest, FetchLimitsOfTopicsNamedByIdAreScaledToo) {
  make_filter(kPolicy, false, std::make_shared<FetchLimitScaler>(FetchLimitScaler::Options{}));
  kafka::Uuid id{};
  id[0] = 0x17;
  topic_ids->learn(id, "enc-by-id");
  auto stored = forwarded_records(
      request(produce_frame({{"enc-by-id", {{0, make_batch(small_records(), Codec::kNone)}}}})));
  kafka::FetchResponse resp;
  kafka::FetchResponse::FetchableTopicResponse t;
  t.topic_id = id;
  kafka::FetchResponse::PartitionData p;
  p.high_watermark = 300;
  p.records = SharedBytes(stored);
  t.partitions.push_back(std::move(p));
  resp.responses.push_back(std::move(t));
  response(1, 17, response_frame(resp, 1, 17));

  auto scaled = request(
      fetch_request_frame({"enc-by-id"}, 1048576, 52428800, 17, {{"enc-by-id", id}}), 17, 1);
  auto req = decode_body<kafka::FetchRequest>(std::get<proxy::ForwardRequest>(scaled).request, 1,
                                              17, kafka::MessageKind::kRequest);
  EXPECT_GT(req.topics.at(0).partitions.at(0).partition_max_bytes, 1048576 * 3 / 2);
  EXPECT_EQ(req.topics.at(0).topic_id, id);
}

TEST_F(FilterTest, FetchRequestsAreNotLookedAtWithoutAScaler) {
  make_filter(kPolicy);
  EXPECT_FALSE(filter->handles_request(1, kFetchVersion));
  EXPECT_TRUE(filter->handles_request(0, kProduceVersion));
}

// The broker side of fetch read-ahead: partition 0 of one topic, a log of stored batches. Fetch
// requests get the batches from their fetch offset on, as many as fit their partition limit.
class FetchingUpstream final : public proxy::UpstreamChannel {
 public:
  std::map<int64_t, std::vector<uint8_t>> log;  // base offset -> stored batch
  std::vector<kafka::FetchRequest> requests;    // those sent by the filter itself

  Frame answer(const Frame& request) {
    auto sent = decode_sent<kafka::FetchRequest>(request);
    kafka::FetchResponse response;
    for (const auto& t : sent.body.topics) {
      kafka::FetchResponse::FetchableTopicResponse out;
      out.topic = t.topic;
      for (const auto& p : t.partitions) {
        kafka::FetchResponse::PartitionData data;
        data.partition_index = p.partition;
        data.high_watermark = log.empty() ? 0 : log.rbegin()->first + 300;
        std::vector<uint8_t> records;
        for (auto it = log.lower_bound(p.fetch_offset); it != log.end(); ++it) {
          if (!records.empty() &&
              records.size() + it->second.size() > static_cast<size_t>(p.partition_max_bytes)) {
            break;
          }
          records.insert(records.end(), it->second.begin(), it->second.end());
        }
        data.records = SharedBytes(std::move(records));
        out.partitions.push_back(std::move(data));
      }
      response.responses.push_back(std::move(out));
    }
    return answer_frame(sent.header, response);
  }

  asio::awaitable<Result<Frame>> send(Frame request) override {
    requests.push_back(decode_sent<kafka::FetchRequest>(request).body);
    co_return answer(request);
  }
};

// A consumer's sessionless-to-be Fetch request for partition 0 of `topic` from `offset`.
Frame consumer_fetch(const std::string& topic, int64_t offset, int32_t partition_max_bytes) {
  kafka::FetchRequest req;
  req.max_wait_ms = 500;
  req.min_bytes = 1;
  req.max_bytes = 52428800;
  req.session_epoch = 0;  // a full request asking for a session, as the Java consumer sends
  kafka::FetchRequest::FetchTopic t;
  t.topic = topic;
  kafka::FetchRequest::FetchPartition p;
  p.fetch_offset = offset;
  p.partition_max_bytes = partition_max_bytes;
  t.partitions.push_back(p);
  req.topics.push_back(std::move(t));
  return request_frame(req, 1, kFetchVersion);
}

TEST_F(FilterTest, FetchReadAheadAnswersThePredictedRequestWithDecryptedRecords) {
  auto budget = std::make_shared<ReadAheadBudget>(64 * 1024 * 1024);
  make_filter(kPolicy, false, nullptr, budget);
  ASSERT_TRUE(filter->handles_request(1, kFetchVersion));
  auto broker = std::make_shared<FetchingUpstream>();
  upstream = broker.get();
  upstream_handle = broker;
  // The log: four batches of 300 cipher records, at offsets 0, 300, 600 and 900.
  for (int64_t base = 0; base < 1200; base += 300) {
    auto stored = forwarded_records(
        request(produce_frame({{"enc-ra", {{0, make_batch(small_records(), Codec::kNone)}}}})));
    kafka::records::detail::store_be64(stored.data(), static_cast<uint64_t>(base));
    broker->log[base] = std::move(stored);
  }
  // A limit of one stored batch: each response is one whole batch, and fills the limit.
  const auto limit = static_cast<int32_t>(broker->log.begin()->second.size());

  // The consumer's first request goes to the broker, made sessionless.
  auto first = request(consumer_fetch("enc-ra", 0, limit), kFetchVersion, 1);
  auto* forwarded = std::get_if<proxy::ForwardRequest>(&first);
  ASSERT_NE(forwarded, nullptr);
  auto sent = decode_body<kafka::FetchRequest>(forwarded->request, 1, kFetchVersion,
                                               kafka::MessageKind::kRequest);
  EXPECT_EQ(sent.session_id, 0);
  EXPECT_EQ(sent.session_epoch, -1);
  EXPECT_EQ(sent.max_wait_ms, 500);
  EXPECT_TRUE(broker->requests.empty());

  // Its response is decrypted, and the request after it is sent ahead: from offset 300, no wait.
  auto decrypted = response(1, kFetchVersion, broker->answer(forwarded->request));
  auto body =
      decode_body<kafka::FetchResponse>(decrypted, 1, kFetchVersion, kafka::MessageKind::kResponse);
  EXPECT_EQ(read_records(body.responses.at(0).partitions.at(0).records->view()).size(), 300u);
  ASSERT_EQ(broker->requests.size(), 1u);
  EXPECT_EQ(broker->requests[0].topics.at(0).partitions.at(0).fetch_offset, 300);
  EXPECT_EQ(broker->requests[0].max_wait_ms, 0);
  EXPECT_EQ(broker->requests[0].session_epoch, -1);

  // The consumer's next request is the one predicted: answered from what was read ahead, with
  // its own correlation id and the records decrypted, and the one after it is sent ahead.
  auto second = request(consumer_fetch("enc-ra", 300, limit), kFetchVersion, 1);
  auto* answered = std::get_if<proxy::AnswerRequest>(&second);
  ASSERT_NE(answered, nullptr);
  auto answer_body = decode_body<kafka::FetchResponse>(answered->response, 1, kFetchVersion,
                                                       kafka::MessageKind::kResponse);
  EXPECT_EQ(*kafka::peek_response_correlation_id(answered->response.payload()), 99);
  EXPECT_EQ(answer_body.session_id, 0);
  auto seen = read_records(answer_body.responses.at(0).partitions.at(0).records->view());
  const auto expected = small_records();
  ASSERT_EQ(seen.size(), expected.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].key, expected[i].key);
    EXPECT_EQ(seen[i].value, expected[i].value);
    EXPECT_TRUE(seen[i].headers.empty());  // the kenc header is gone
  }
  EXPECT_EQ(seen[0].batch.base_offset, 300);
  ASSERT_EQ(broker->requests.size(), 2u);
  EXPECT_EQ(broker->requests[1].topics.at(0).partitions.at(0).fetch_offset, 600);

  // A consumer that sought elsewhere meanwhile goes to the broker; what was read ahead is
  // dropped.
  auto sought = request(consumer_fetch("enc-ra", 0, limit), kFetchVersion, 1);
  EXPECT_NE(std::get_if<proxy::ForwardRequest>(&sought), nullptr);
  auto ahead = connection_state.get<FetchReadAhead>(filter.get());
  ASSERT_NE(ahead, nullptr);
  EXPECT_EQ(ahead->outcomes(ReadAheadOutcome::kUsed), 1u);
  EXPECT_EQ(ahead->outcomes(ReadAheadOutcome::kMismatched), 1u);
  EXPECT_EQ(budget->in_use(), 0u);
}

TEST_F(FilterTest, FetchReadAheadLeavesFetchSessionsOfManyPartitionsAlone) {
  make_filter(kPolicy, false, nullptr, std::make_shared<ReadAheadBudget>(1 << 20));
  kafka::FetchRequest req;
  req.session_epoch = 0;
  req.max_bytes = 1 << 20;
  kafka::FetchRequest::FetchTopic t;
  t.topic = "enc-many";
  for (int32_t i = 0; i <= static_cast<int32_t>(kMaxSessionlessPartitions); ++i) {
    kafka::FetchRequest::FetchPartition p;
    p.partition = i;
    p.partition_max_bytes = 1024;
    t.partitions.push_back(p);
  }
  req.topics.push_back(t);
  Frame frame = request_frame(req, 1, kFetchVersion);
  const ByteBuffer bytes = frame.bytes;
  auto verdict = request(std::move(frame), kFetchVersion, 1);
  ASSERT_NE(std::get_if<proxy::ForwardRequest>(&verdict), nullptr);
  EXPECT_EQ(std::get<proxy::ForwardRequest>(verdict).request.bytes, bytes);  // byte for byte
}

TEST_F(FilterTest, ATamperedRecordFailsItsPartitionButDeliversTheBatchesBeforeIt) {
  make_filter(kPolicy);
  auto first = forwarded_records(
      request(produce_frame({{"enc-t", {{0, make_batch(kRecords, Codec::kNone)}}}})));
  auto second = forwarded_records(
      request(produce_frame({{"enc-t", {{0, make_batch(kRecords, Codec::kNone)}}}})));
  // The broker's second batch follows the first at offset 4; flip a ciphertext byte in it and
  // fix the CRC, as a malicious broker operator could.
  std::vector<kafka::records::RecordsEntry> entries;
  ASSERT_TRUE(kafka::records::parse_records(second, entries).ok());
  std::vector<uint8_t> tampered = second;
  tampered[tampered.size() - 30] ^= 0x01;
  kafka::records::BatchHeader h = entries[0].batch.header;
  h.base_offset = 4;
  kafka::records::finish_batch(h, tampered);

  std::vector<uint8_t> both = first;
  both.insert(both.end(), tampered.begin(), tampered.end());
  auto fetched = response(1, kFetchVersion, fetch_frame("enc-t", {both, tampered}));
  auto resp =
      decode_body<kafka::FetchResponse>(fetched, 1, kFetchVersion, kafka::MessageKind::kResponse);
  const auto& p0 = resp.responses.at(0).partitions.at(0);
  EXPECT_EQ(p0.error_code, 0);
  EXPECT_EQ(read_records(p0.records->view()).size(), kRecords.size()) << "only the good batch";
  const auto& p1 = resp.responses.at(0).partitions.at(1);
  EXPECT_EQ(p1.error_code, 2);  // CORRUPT_MESSAGE: the consumer application hears of it
  EXPECT_TRUE(p1.records->empty());
}

TEST_F(FilterTest, AnUnavailableKeyBrokerOnFetchGivesARetriableError) {
  make_filter(kPolicy);
  auto stored = forwarded_records(
      request(produce_frame({{"enc-u", {{0, make_batch(kRecords, Codec::kNone)}}}})));
  make_filter(kPolicy);  // a fresh proxy: nothing cached
  kb.unwrap_error = make_error(ErrorCode::kUnavailable, "key broker down");
  auto fetched = response(1, kFetchVersion, fetch_frame("enc-u", {stored}));
  auto resp =
      decode_body<kafka::FetchResponse>(fetched, 1, kFetchVersion, kafka::MessageKind::kResponse);
  EXPECT_EQ(resp.responses.at(0).partitions.at(0).error_code, -1);  // consumers retry
  EXPECT_TRUE(resp.responses.at(0).partitions.at(0).records->empty());

  kb.unwrap_error.reset();
  auto retried = response(1, kFetchVersion, fetch_frame("enc-u", {stored}));
  auto ok =
      decode_body<kafka::FetchResponse>(retried, 1, kFetchVersion, kafka::MessageKind::kResponse);
  EXPECT_EQ(read_records(ok.responses.at(0).partitions.at(0).records->view()).at(0).value,
            kRecords[0].value);
}

TEST_F(FilterTest, ShareFetchIsDecryptedAndFailsWholePartitions) {
  make_filter(kPolicy);
  kafka::Uuid id{};
  id[15] = 9;
  topic_ids->learn(id, "enc-share");
  auto stored = forwarded_records(
      request(produce_frame({{"enc-share", {{0, make_batch(kRecords, Codec::kSnappy)}}}})));
  kafka::ShareFetchResponse resp;
  kafka::ShareFetchResponse::ShareFetchableTopicResponse t;
  t.topic_id = id;
  t.partitions.emplace_back();
  t.partitions.back().records = SharedBytes(stored);
  kafka::ShareFetchResponse::AcquiredRecords acquired;
  acquired.first_offset = 0;
  acquired.last_offset = 3;
  acquired.delivery_count = 1;
  t.partitions.back().acquired_records.push_back(acquired);
  resp.responses.push_back(t);
  auto out = response(78, 1, response_frame(resp, 78, 1));
  auto decoded = decode_body<kafka::ShareFetchResponse>(out, 78, 1, kafka::MessageKind::kResponse);
  auto plain = read_records(decoded.responses.at(0).partitions.at(0).records.view());
  ASSERT_EQ(plain.size(), kRecords.size());
  EXPECT_EQ(plain[3].value, kRecords[3].value);
  EXPECT_EQ(decoded.responses.at(0).partitions.at(0).acquired_records.size(), 1u);

  make_filter(kPolicy);
  kb.unwrap_error = make_error(ErrorCode::kDataLoss, "does not unwrap");
  auto failed = response(78, 1, response_frame(resp, 78, 1));
  auto f = decode_body<kafka::ShareFetchResponse>(failed, 78, 1, kafka::MessageKind::kResponse);
  EXPECT_EQ(f.responses.at(0).partitions.at(0).error_code, 2);
  EXPECT_TRUE(f.responses.at(0).partitions.at(0).acquired_records.empty());
}

// A batch header may lie about its record count. Whatever it claims, the records it carries
// must never reach the broker unencrypted.
TEST_F(FilterTest, ABatchDeclaringZeroRecordsIsNotForwardedWithItsPlaintext) {
  make_filter(kPolicy);
  auto batch = make_batch({{"k", "the first secret value", {}, 0}}, Codec::kNone);
  std::vector<kafka::records::RecordsEntry> entries;
  ASSERT_TRUE(kafka::records::parse_records(batch, entries).ok());
  kafka::records::BatchHeader h = entries[0].batch.header;
  h.record_count = 0;
  kafka::records::finish_batch(h, batch);
  auto verdict = request(produce_frame({{"enc-zero", {{0, batch}}}}));
  auto* answer = std::get_if<proxy::AnswerRequest>(&verdict);
  ASSERT_NE(answer, nullptr) << "the plaintext batch was forwarded to the broker";
  auto resp = decode_body<kafka::ProduceResponse>(answer->response, 0, kProduceVersion,
                                                  kafka::MessageKind::kResponse);
  EXPECT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 87);  // INVALID_RECORD
}

// A compressed batch claiming far more records than it holds costs no IVs: otherwise a few
// bytes from a client would use up DEK leases (a key-broker call each) and DEK budgets.
TEST_F(FilterTest, ABatchOverstatingItsRecordCountDoesNotUseUpTheLease) {
  kb.budget = 1'000'000;
  make_filter(kPolicy);
  auto batch = make_batch({{"k", "v", {}, 0}}, Codec::kZstd);
  std::vector<kafka::records::RecordsEntry> entries;
  ASSERT_TRUE(kafka::records::parse_records(batch, entries).ok());
  kafka::records::BatchHeader h = entries[0].batch.header;
  h.record_count = 900'000;
  kafka::records::finish_batch(h, batch);
  auto verdict = request(produce_frame({{"enc-lie", {{0, batch}}}}));
  auto* answer = std::get_if<proxy::AnswerRequest>(&verdict);
  ASSERT_NE(answer, nullptr);
  auto resp = decode_body<kafka::ProduceResponse>(answer->response, 0, kProduceVersion,
                                                  kafka::MessageKind::kResponse);
  EXPECT_EQ(resp.responses.at(0).partition_responses.at(0).error_code, 87);

  // An honest batch afterwards is served by the same lease, with no renewal on the way.
  auto ok = request(produce_frame({{"enc-lie", {{0, make_batch(kRecords, Codec::kZstd)}}}}));
  EXPECT_NE(std::get_if<proxy::ForwardRequest>(&ok), nullptr);
  EXPECT_LE(kb.leases.load(), 1);
}

// A batch re-assembled from cipher records of several DEKs (as a replication tool copying the
// encrypted topic would write it): each DEK is unwrapped once and the batch is decrypted in the
// same fetch, without a spurious retriable error.
TEST_F(FilterTest, ABatchOfRecordsUnderThreeDeksIsDecryptedInOneFetch) {
  make_filter(kPolicy);
  std::vector<TestRecord> mixed;
  for (const std::string topic : {"enc-a", "enc-b", "enc-c"}) {
    auto stored = forwarded_records(
        request(produce_frame({{topic, {{0, make_batch({kRecords[0]}, Codec::kNone)}}}})));
    for (const auto& r : read_records(stored)) mixed.push_back({r.key, r.value, r.headers, 0});
  }
  make_filter(kPolicy);  // a fresh proxy: no DEK cached
  const int unwraps_before = kb.unwraps.load();
  auto fetched =
      response(1, kFetchVersion, fetch_frame("enc-mixed", {make_batch(mixed, Codec::kNone)}));
  auto resp =
      decode_body<kafka::FetchResponse>(fetched, 1, kFetchVersion, kafka::MessageKind::kResponse);
  const auto& p = resp.responses.at(0).partitions.at(0);
  EXPECT_EQ(p.error_code, 0);
  ASSERT_TRUE(p.records.has_value());
  auto plain = read_records(p.records->view());
  ASSERT_EQ(plain.size(), 3u);
  for (const auto& r : plain) EXPECT_EQ(r.value, kRecords[0].value);
  EXPECT_EQ(kb.unwraps.load() - unwraps_before, 3);
}

}  // namespace
}  // namespace kenc::record_encryption
