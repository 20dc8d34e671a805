#include "keybroker/audit/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <system_error>

namespace kenc::keybroker::audit {
namespace {

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

std::string to_json_line(const AuditRecord& r) {
  nlohmann::ordered_json j;
  j["time"] = rfc3339_utc(r.time);
  j["identity"] = r.identity;
  j["operation"] = r.operation;
  j["kek_alias"] = r.kek_alias;
  j["kek_id"] = r.kek_id;
  j["kek_version"] = r.kek_version;
  j["topic"] = r.topic;
  j["dek_id"] = r.dek_id_hex;
  if (r.lease_number) {
    j["lease_number"] = *r.lease_number;
  } else {
    j["lease_number"] = nullptr;
  }
  j["outcome"] = r.outcome;
  if (!r.detail.empty()) {
    j["detail"] = r.detail;
  }
  j["latency_ms"] = static_cast<double>(static_cast<int64_t>(r.latency_ms * 1000)) / 1000;
  // Replace invalid UTF-8 (from a hostile topic name) instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path) {
  if (path == "-") {
    return std::unique_ptr<AuditLog>(new AuditLog(STDOUT_FILENO, false, "stdout"));
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot open audit log " + path + ": " +
                          std::error_code(errno, std::generic_category()).message());
  }
  return std::unique_ptr<AuditLog>(new AuditLog(fd, true, path));
}

AuditLog::~AuditLog() {
  if (owns_fd_) {
    ::close(fd_);
  }
}

Status AuditLog::write(const AuditRecord& record) {
  const std::string line = to_json_line(record);
  std::lock_guard lock(mu_);
  ssize_t n;
  do {
    n = ::write(fd_, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(line.size())) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot write the audit log " + path_ + ": " +
                          (n < 0 ? std::error_code(errno, std::generic_category()).message()
                                 : std::string("short write")));
  }
  return Status::Ok();
}

}  // namespace kenc::keybroker::audit
