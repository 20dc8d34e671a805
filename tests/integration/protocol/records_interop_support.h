#pragma once

// Test support shared by the records interop tests: a minimal blocking Kafka protocol client
// (raw Produce v7, the first that allows zstd, and Fetch v4, the lowest Kafka 4.x serves) to put
// our batches on a broker and to see the exact batches clients wrote, plus librdkafka
// produce/consume helpers.

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/kafka/records/batch_builder.h"
#include "common/kafka/records/batch_rewriter.h"
#include "common/kafka/records/record_batch.h"

namespace kenc::kafka::records::interop {

struct Plain {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  bool operator==(const Plain&) const = default;
};

inline std::optional<std::string> opt(NullableBytes b) {
  if (b.is_null()) {
    return std::nullopt;
  }
  return std::string(b.as_string());
}

// ---- a minimal blocking Kafka protocol client (non-flexible versions only) -------------------

class Wire {
 public:
  void i8(int8_t v) { out.push_back(static_cast<uint8_t>(v)); }
  void i16(int16_t v) { be(static_cast<uint64_t>(static_cast<uint16_t>(v)), 2); }
  void i32(int32_t v) { be(static_cast<uint64_t>(static_cast<uint32_t>(v)), 4); }
  void i64(int64_t v) { be(static_cast<uint64_t>(v), 8); }
  void str(const std::string& s) {
    i16(static_cast<int16_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  void bytes(std::span<const uint8_t> b) {
    i32(static_cast<int32_t>(b.size()));
    out.insert(out.end(), b.begin(), b.end());
  }
  std::vector<uint8_t> out;

 private:
  void be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
      out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  }
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  int64_t be(size_t n) {
    if (in_.size() < n) {
      throw std::runtime_error("response truncated");
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      v = (v << 8) | in_[i];
    }
    in_ = in_.subspan(n);
    if (n == 2) {
      return static_cast<int16_t>(v);
    }
    if (n == 4) {
      return static_cast<int32_t>(v);
    }
    return static_cast<int64_t>(v);
  }
  std::string str() {
    auto n = be(2);
    if (n < 0) {
      return {};
    }
    auto b = take(static_cast<size_t>(n));
    return {b.begin(), b.end()};
  }
  std::span<const uint8_t> take(size_t n) {
    if (in_.size() < n) {
      throw std::runtime_error("response truncated");
    }
    auto b = in_.first(n);
    in_ = in_.subspan(n);
    return b;
  }

 private:
  std::span<const uint8_t> in_;
};

class KafkaConnection {
 public:
  explicit KafkaConnection(const std::string& bootstrap) {
    auto colon = bootstrap.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(bootstrap.substr(colon + 1))));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot connect to the mock broker at " + bootstrap);
    }
  }
  ~KafkaConnection() { close(fd_); }

  // Sends a request (header v1) and returns the response body after the correlation id.
  std::vector<uint8_t> call(int16_t api_key, int16_t version, const Wire& body) {
    Wire frame;
    frame.i16(api_key);
    frame.i16(version);
    frame.i32(++correlation_);
    frame.str("kenc-records-test");
    frame.out.insert(frame.out.end(), body.out.begin(), body.out.end());
    Wire sized;
    sized.bytes(frame.out);
    write_all(sized.out);
    auto size_bytes = read_n(4);
    Reader r(size_bytes);
    auto size = static_cast<size_t>(r.be(4));
    auto response = read_n(size);
    Reader h(response);
    if (h.be(4) != correlation_) {
      throw std::runtime_error("correlation id mismatch");
    }
    return {response.begin() + 4, response.end()};
  }

 private:
  void write_all(const std::vector<uint8_t>& b) {
    size_t done = 0;
    while (done < b.size()) {
      ssize_t n = ::write(fd_, b.data() + done, b.size() - done);
      if (n <= 0) {
        throw std::runtime_error("write to the broker failed");
      }
      done += static_cast<size_t>(n);
    }
  }
  std::vector<uint8_t> read_n(size_t size) {
    std::vector<uint8_t> b(size);
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::read(fd_, b.data() + done, size - done);
      if (n <= 0) {
        throw std::runtime_error("read from the broker failed");
      }
      done += static_cast<size_t>(n);
    }
    return b;
  }
  int fd_ = -1;
  int32_t correlation_ = 0;
};

// Fetch v4 of partition 0 from offset 0; returns the raw `records` bytes.
inline std::vector<uint8_t> fetch_records(KafkaConnection& conn, const std::string& topic,
                                          int32_t partition_max_bytes = 16 << 20) {
  Wire w;
  w.i32(-1);        // replica id
  w.i32(100);       // max wait ms
  w.i32(1);         // min bytes
  w.i32(16 << 20);  // max bytes
  w.i8(0);          // isolation: read uncommitted
  w.i32(1);         // topics
  w.str(topic);
  w.i32(1);  // partitions
  w.i32(0);  // partition
  w.i64(0);  // fetch offset
  w.i32(partition_max_bytes);
  auto response = conn.call(1, 4, w);
  Reader r(response);
  r.be(4);  // throttle
  if (r.be(4) != 1) {
    throw std::runtime_error("expected one topic");
  }
  r.str();
  if (r.be(4) != 1) {
    throw std::runtime_error("expected one partition");
  }
  r.be(4);
  auto error = r.be(2);
  if (error != 0) {
    throw std::runtime_error("fetch error " + std::to_string(error));
  }
  r.be(8);  // high watermark
  r.be(8);  // last stable offset
  auto aborted = r.be(4);
  for (int64_t i = 0; i < aborted; ++i) {
    r.be(8);
    r.be(8);
  }
  auto size = r.be(4);
  if (size < 0) {
    return {};
  }
  auto records = r.take(static_cast<size_t>(size));
  return {records.begin(), records.end()};
}

// Produce v7 (acks=all; zstd needs v7 or later) of one records blob to partition 0; returns the
// partition error code.
inline int16_t produce_records(KafkaConnection& conn, const std::string& topic,
                               std::span<const uint8_t> records) {
  Wire w;
  w.i16(-1);  // transactional id: null
  w.i16(-1);  // acks
  w.i32(5000);
  w.i32(1);
  w.str(topic);
  w.i32(1);
  w.i32(0);
  w.bytes(records);
  auto response = conn.call(0, 7, w);
  Reader r(response);
  if (r.be(4) != 1) {
    throw std::runtime_error("expected one topic");
  }
  r.str();
  if (r.be(4) != 1) {
    throw std::runtime_error("expected one partition");
  }
  r.be(4);
  return static_cast<int16_t>(r.be(2));
}

// ---- librdkafka side ------------------------------------------------------------------------

inline std::vector<Plain> expected_records(int count) {
  std::vector<Plain> out;
  for (int i = 0; i < count; ++i) {
    Plain p;
    p.key = "key-" + std::to_string(i);
    if (i % 10 != 7) {
      p.value =
          "value " + std::to_string(i) + " " + std::string(200, static_cast<char>('a' + i % 26));
    }
    if (i % 3 == 0) {
      p.headers = {{"trace-id", "t" + std::to_string(i)}, {"empty", std::nullopt}};
    }
    out.push_back(p);
  }
  out[5].key = std::nullopt;
  return out;
}

inline rd_kafka_conf_t* base_conf(const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  auto set = [&](const char* k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      throw std::runtime_error(std::string("librdkafka config ") + k + ": " + err);
    }
  };
  set("bootstrap.servers", bootstrap);
  set("broker.address.family", "v4");
  return conf;
}

inline void produce_with_librdkafka(const std::string& bootstrap, const std::string& topic,
                                    const std::string& codec, const std::vector<Plain>& records) {
  rd_kafka_conf_t* conf = base_conf(bootstrap);
  char err[256];
  for (auto [k, v] : {std::pair<const char*, std::string>{"compression.codec", codec},
                      {"enable.idempotence", "true"},
                      {"linger.ms", "50"}}) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      throw std::runtime_error(err);
    }
  }
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (producer == nullptr) {
    throw std::runtime_error(err);
  }
  for (const Plain& p : records) {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(p.headers.size());
    for (const auto& [k, v] : p.headers) {
      rd_kafka_header_add(headers, k.data(), static_cast<ssize_t>(k.size()),
                          v ? v->data() : nullptr, v ? static_cast<ssize_t>(v->size()) : 0);
    }
    rd_kafka_vu_t args[6] = {};
    args[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    args[0].u.cstr = topic.c_str();
    args[1].vtype = RD_KAFKA_VTYPE_PARTITION;
    args[1].u.i32 = 0;
    args[2].vtype = RD_KAFKA_VTYPE_KEY;
    args[2].u.mem.ptr = p.key ? const_cast<char*>(p.key->data()) : nullptr;
    args[2].u.mem.size = p.key ? p.key->size() : 0;
    args[3].vtype = RD_KAFKA_VTYPE_VALUE;
    args[3].u.mem.ptr = p.value ? const_cast<char*>(p.value->data()) : nullptr;
    args[3].u.mem.size = p.value ? p.value->size() : 0;
    args[4].vtype = RD_KAFKA_VTYPE_HEADERS;
    args[4].u.headers = headers;
    args[5].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    args[5].u.i = RD_KAFKA_MSG_F_COPY;
    rd_kafka_error_t* produce_error = rd_kafka_produceva(producer, args, 6);
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (produce_error != nullptr) {
      e = rd_kafka_error_code(produce_error);
      rd_kafka_error_destroy(produce_error);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);
      rd_kafka_destroy(producer);
      throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(e));
    }
  }
  rd_kafka_resp_err_t flushed = rd_kafka_flush(producer, 10000);
  rd_kafka_destroy(producer);
  if (flushed != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("flush timed out");
  }
}

inline std::vector<Plain> consume_with_librdkafka(const std::string& bootstrap,
                                                  const std::string& topic, size_t count) {
  rd_kafka_conf_t* conf = base_conf(bootstrap);
  char err[256];
  for (auto [k, v] : {std::pair<const char*, const char*>{"group.id", "kenc-records-test"},
                      {"check.crcs", "true"},
                      {"enable.auto.commit", "false"}}) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
      throw std::runtime_error(err);
    }
  }
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (consumer == nullptr) {
    throw std::runtime_error(err);
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(consumer, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  std::vector<Plain> out;
  std::string error;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 200);
    if (m == nullptr) {
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      Plain p;
      if (m->key) {
        p.key = std::string(static_cast<const char*>(m->key), m->key_len);
      }
      if (m->payload) {
        p.value = std::string(static_cast<const char*>(m->payload), m->len);
      }
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          p.headers.emplace_back(name, value ? std::optional<std::string>(std::string(
                                                   static_cast<const char*>(value), size))
                                             : std::nullopt);
        }
      }
      out.push_back(p);
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      error = rd_kafka_message_errstr(m);
    }
    rd_kafka_message_destroy(m);
    if (!error.empty()) {
      break;
    }
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  if (!error.empty()) {
    throw std::runtime_error("consume: " + error);
  }
  return out;
}

inline std::vector<Plain> decode_all(std::span<const uint8_t> blob, std::vector<Codec>& codecs,
                                     std::vector<BatchHeader>& headers) {
  std::vector<RecordsEntry> entries;
  Status s = parse_records(blob, entries);  // CRCs checked
  if (!s.ok()) {
    throw std::runtime_error(s.error().to_string());
  }
  BatchRewriter buffers;
  std::vector<Plain> out;
  for (const RecordsEntry& e : entries) {
    if (e.kind != EntryKind::kBatch) {
      throw std::runtime_error("unexpected non-v2 entry");
    }
    codecs.push_back(e.batch.header.codec());
    headers.push_back(e.batch.header);
    std::span<const uint8_t> section;
    s = buffers.records_section(e.batch, section);
    if (!s.ok()) {
      throw std::runtime_error(s.error().to_string());
    }
    RecordReader reader(section, e.batch.header.record_count);
    RecordView r;
    while (reader.next(r)) {
      Plain p{opt(r.key), opt(r.value), {}};
      HeaderReader hr = r.headers();
      HeaderView h;
      while (hr.next(h)) {
        p.headers.emplace_back(std::string(h.key_string()), opt(h.value));
      }
      out.push_back(p);
    }
    if (!reader.status().ok()) {
      throw std::runtime_error(reader.status().error().to_string());
    }
  }
  return out;
}

inline const std::pair<const char*, Codec> kCodecs[] = {{"none", Codec::kNone},
                                                        {"gzip", Codec::kGzip},
                                                        {"snappy", Codec::kSnappy},
                                                        {"lz4", Codec::kLz4},
                                                        {"zstd", Codec::kZstd}};

}  // namespace kenc::kafka::records::interop
