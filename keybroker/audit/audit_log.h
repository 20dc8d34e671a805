#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/base/result.h"

namespace kenc::keybroker::audit {

// One key request, as written to the audit log. Never holds key material: DEKs appear only by
// their id (a hash of the EDEK).
struct AuditRecord {
  std::chrono::system_clock::time_point time;
  std::string identity;   // from the caller's certificate, or "" when unauthenticated
  std::string operation;  // "lease", "unwrap", "resolve"
  std::string kek_alias;
  std::string kek_id;
  uint32_t kek_version = 0;  // 0 = not known
  std::string topic;
  std::string dek_id_hex;
  std::optional<uint32_t> lease_number;
  std::string outcome;  // "ok" or the gRPC status name in lower case, e.g. "permission_denied"
  std::string detail;   // why it failed, for humans
  double latency_ms = 0;
};

// One JSON line per request, for example
//   {"time":"2026-11-28T11:32:36.123Z","identity":"spiffe://kenc/proxy","operation":"lease",...}
std::string to_json_line(const AuditRecord& record);

// Appends audit lines to a file (opened with O_APPEND, so several writers and log rotation by
// copy-truncate work) or to stdout. Each line goes out with a single write(2); a failed or short
// write is reported so the request it describes can fail: no key is handed out unaudited.
class AuditLog {
 public:
  // `path` "-" means stdout. Throws nothing; errors come back as Status.
  static Result<std::unique_ptr<AuditLog>> open(const std::string& path);
  ~AuditLog();

  Status write(const AuditRecord& record);

 private:
  AuditLog(int fd, bool owns_fd, std::string path)
      : fd_(fd), owns_fd_(owns_fd), path_(std::move(path)) {}

  std::mutex mu_;
  int fd_;
  bool owns_fd_;
  std::string path_;
};

}  // namespace kenc::keybroker::audit
