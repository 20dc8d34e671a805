#include "tests/integration/hardening/raw_kafka.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/kafka/records/batch_builder.h"

namespace kenc::testworld::hardening {
namespace {

using namespace std::chrono_literals;

void put16(Bytes& out, int16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& out, int32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}
void put64(Bytes& out, int64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}
void put_string(Bytes& out, const std::string& s) {
  put16(out, static_cast<int16_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
int16_t get16(const Bytes& in, size_t at) {
  return static_cast<int16_t>((in.at(at) << 8) | in.at(at + 1));
}
int32_t get32(const Bytes& in, size_t at) {
  return static_cast<int32_t>((uint32_t{in.at(at)} << 24) | (uint32_t{in.at(at + 1)} << 16) |
                              (uint32_t{in.at(at + 2)} << 8) | uint32_t{in.at(at + 3)});
}

}  // namespace

Bytes frame(const Bytes& payload) {
  Bytes out;
  put32(out, static_cast<int32_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Bytes request(int16_t api_key, int16_t version, int32_t correlation_id, const Bytes& body) {
  Bytes payload;
  put16(payload, api_key);
  put16(payload, version);
  put32(payload, correlation_id);
  put_string(payload, "hostile");
  payload.insert(payload.end(), body.begin(), body.end());
  return frame(payload);
}

Bytes api_versions_request(int32_t correlation_id) { return request(18, 0, correlation_id, {}); }

Bytes produce_request(int32_t correlation_id, const std::string& topic, int32_t partition,
                      const Bytes& records) {
  Bytes body;
  put16(body, -1);    // transactional id: null
  put16(body, 1);     // acks
  put32(body, 5000);  // timeout
  put32(body, 1);     // one topic
  put_string(body, topic);
  put32(body, 1);  // one partition
  put32(body, partition);
  put32(body, static_cast<int32_t>(records.size()));
  body.insert(body.end(), records.begin(), records.end());
  return request(0, 3, correlation_id, body);
}

Bytes fetch_request(int32_t correlation_id, const std::string& topic, int32_t partition,
                    int64_t offset, int32_t max_bytes) {
  Bytes body;
  put32(body, -1);  // replica id
  put32(body, 0);   // max wait
  put32(body, 1);   // min bytes
  put32(body, max_bytes);
  body.push_back(0);  // read_uncommitted
  put32(body, 1);
  put_string(body, topic);
  put32(body, 1);
  put32(body, partition);
  put64(body, offset);
  put32(body, max_bytes);
  return request(1, 4, correlation_id, body);
}

Bytes record_batch(int count, size_t value_bytes) {
  kafka::records::BatchHeader header;
  kafka::records::BatchBuilder builder(header);
  const std::string value(value_bytes, 'h');
  for (int i = 0; i < count; ++i) {
    builder.add(0, i, kafka::records::NullableBytes::null(),
                kafka::records::NullableBytes::of(value));
  }
  Bytes out;
  if (!builder.finish(out).ok()) throw std::runtime_error("cannot build a record batch");
  return out;
}

std::optional<int16_t> produce_error(const Bytes& payload) {
  // correlation id, topics count, topic name, partitions count, partition index, error code
  if (payload.size() < 4 + 4 + 2) return std::nullopt;
  size_t at = 8;
  const size_t name_length = static_cast<size_t>(get16(payload, at));
  at += 2 + name_length + 4 + 4;
  if (payload.size() < at + 2) return std::nullopt;
  return get16(payload, at);
}

std::optional<int16_t> fetch_error(const Bytes& payload) {
  // correlation id, throttle, topics count, topic name, partitions count, partition, error code
  if (payload.size() < 4 + 4 + 4 + 2) return std::nullopt;
  size_t at = 12;
  const size_t name_length = static_cast<size_t>(get16(payload, at));
  at += 2 + name_length + 4 + 4;
  if (payload.size() < at + 2) return std::nullopt;
  return get16(payload, at);
}

int32_t correlation_id_of(const Bytes& payload) { return get32(payload, 0); }

RawConnection::RawConnection(int port, int receive_buffer_bytes) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (receive_buffer_bytes > 0) {
    // Before connect(), so the advertised window stays small from the first byte.
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(const Bytes& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool RawConnection::read_exact(uint8_t* out, size_t n,
                               std::chrono::steady_clock::time_point deadline) {
  size_t got = 0;
  while (got < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    ssize_t r = ::recv(fd_, out + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

std::optional<Bytes> RawConnection::read_frame(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint8_t prefix[4];
  if (!read_exact(prefix, 4, deadline)) return std::nullopt;
  const int32_t size = get32(Bytes(prefix, prefix + 4), 0);
  if (size < 0 || size > (256 << 20)) return std::nullopt;
  Bytes payload(static_cast<size_t>(size));
  if (!read_exact(payload.data(), payload.size(), deadline)) return std::nullopt;
  return payload;
}

bool RawConnection::closed_by_peer_within(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint8_t sink[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    ssize_t r = ::recv(fd_, sink, sizeof sink, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return true;  // EOF or reset
  }
}

bool api_versions_round_trip(RawConnection& conn, int32_t correlation_id) {
  if (!conn.send(api_versions_request(correlation_id))) return false;
  auto response = conn.read_frame();
  return response && response->size() >= 4 && correlation_id_of(*response) == correlation_id;
}

ProxyDaemon::ProxyDaemon(RunDir& dir, const std::string& name, const std::string& yaml,
                         int wait_port) {
  const std::string config = dir.file(name + ".yaml");
  std::ofstream(config) << yaml;
  log_file_ = dir.file(name + ".log");
  Process::Options options;
  options.argv = {KENC_PROXY_BINARY, "--config", config};
  options.log_file = log_file_;
  process_ = std::make_unique<Process>(options);
  for (int i = 0; i < 400 && !port_open(wait_port); ++i) std::this_thread::sleep_for(50ms);
  if (!port_open(wait_port)) {
    throw std::runtime_error("kenc-proxy did not start: " + tail_file(log_file_));
  }
}

std::string ProxyDaemon::log() const { return tail_file(log_file_, 1 << 20); }

namespace {
long status_field_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) {
      std::istringstream rest(line.substr(field.size() + 1));
      long kib = -1;
      rest >> kib;
      return kib;
    }
  }
  return -1;
}
}  // namespace

long rss_kib(pid_t pid) { return status_field_kib(pid, "VmRSS"); }
long peak_rss_kib(pid_t pid) { return status_field_kib(pid, "VmHWM"); }

int open_fds(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace kenc::testworld::hardening
