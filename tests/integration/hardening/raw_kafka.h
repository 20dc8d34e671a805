#pragma once
// Raw Kafka wire access for the hostile-input and bounded-memory tests: hand-built request frames
// (so a test can send exactly the bytes it wants, valid or not), a blocking TCP connection with
// timeouts, the kenc-proxy daemon started from a YAML text, and its memory from /proc.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/world/base/process.h"
#include "tests/world/base/run_dir.h"

namespace kenc::testworld::hardening {

using Bytes = std::vector<uint8_t>;

// A size-prefixed frame around `payload`.
Bytes frame(const Bytes& payload);
// A request frame: header v1 (api key, version, correlation id, client id "hostile") + body.
Bytes request(int16_t api_key, int16_t version, int32_t correlation_id, const Bytes& body);
Bytes api_versions_request(int32_t correlation_id);
// Produce v3 (acks=1) of `records` (the raw `records` field) to one partition.
Bytes produce_request(int32_t correlation_id, const std::string& topic, int32_t partition,
                      const Bytes& records);
// Fetch v4 from one partition at `offset`.
Bytes fetch_request(int32_t correlation_id, const std::string& topic, int32_t partition,
                    int64_t offset, int32_t max_bytes);
// One valid magic-v2 batch of `count` uncompressed records with `value_bytes`-byte values.
Bytes record_batch(int count, size_t value_bytes);
// The error code of the first partition of a Produce v3 response payload (after the size).
std::optional<int16_t> produce_error(const Bytes& response_payload);

// The error code of the first partition of a Fetch v4 response payload.
std::optional<int16_t> fetch_error(const Bytes& response_payload);

// A blocking TCP connection to 127.0.0.1:port.
class RawConnection {
 public:
  explicit RawConnection(int port, int receive_buffer_bytes = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends everything; false when the peer closed or reset the connection.
  bool send(const Bytes& bytes);
  // The next response frame's payload, or nullopt on close, reset or timeout.
  std::optional<Bytes> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Reads and discards until the peer closes (true) or `timeout` passes with it open (false).
  bool closed_by_peer_within(std::chrono::milliseconds timeout);
  int fd() const { return fd_; }

 private:
  bool read_exact(uint8_t* out, size_t n, std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
};

// Correlation id of a response payload.
int32_t correlation_id_of(const Bytes& payload);

// One ApiVersions round trip on `conn`: true when a response with this correlation id arrives.
bool api_versions_round_trip(RawConnection& conn, int32_t correlation_id);

// The kenc-proxy daemon from a YAML text; waits until `wait_port` accepts connections.
class ProxyDaemon {
 public:
  ProxyDaemon(RunDir& dir, const std::string& name, const std::string& yaml, int wait_port);
  Process& process() { return *process_; }
  pid_t pid() const { return process_->pid(); }
  bool running() { return process_->running(); }
  std::string log() const;

 private:
  std::string log_file_;
  std::unique_ptr<Process> process_;
};

// From /proc/<pid>/status, in KiB: VmRSS now, and VmHWM (the peak RSS of the process).
long rss_kib(pid_t pid);
long peak_rss_kib(pid_t pid);
// Open file descriptors of `pid`.
int open_fds(pid_t pid);

}  // namespace kenc::testworld::hardening
