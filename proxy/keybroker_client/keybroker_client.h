#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/crypto/secure_bytes.h"

namespace kenc::proxy::keybroker_client {

struct KeyBrokerClientOptions {
  std::string target;  // host:port of the key broker (or a gRPC target such as dns:///kb:9443)
  // Mutual TLS: the CA that signed the broker's certificate, and our own certificate and key.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Expected name in the broker's certificate when it differs from the target host.
  std::string server_name_override;
  // Development only: plaintext, no authentication (the broker must be configured alike).
  bool insecure_plaintext_for_development = false;
  // Deadline of every call.
  std::chrono::milliseconds deadline = std::chrono::seconds(2);
  // While the channel is (re)connecting, wait for it within the deadline instead of failing at
  // once. Off, a call fails fast with kUnavailable (e.g. when the TLS handshake is refused).
  bool wait_for_ready = true;
  // Upper bound of the channel's reconnect backoff after the broker went away.
  std::chrono::milliseconds max_reconnect_backoff = std::chrono::seconds(2);
};

struct DekLease {
  std::vector<uint8_t> dek_id;
  crypto::SecureBytes dek;  // 32 bytes, wiped when dropped
  std::vector<uint8_t> edek;
  uint32_t lease_number = 0;
  uint64_t encryption_budget = 0;
  std::chrono::system_clock::time_point expires_at;
  std::string kek_id;
  uint32_t kek_version = 0;
};

struct UnwrappedDek {
  std::vector<uint8_t> dek_id;
  crypto::SecureBytes dek;
};

struct KekResolution {
  std::string kek_id;
  uint32_t kek_version = 0;
};

// Asynchronous client of the key broker for the proxy.
//
// Calls never block the caller: each starts a gRPC callback-API call and returns at once; no
// thread waits per call. The channel reconnects by itself (with backoff) when the broker
// restarts. Errors map as: NOT_FOUND -> kNotFound, PERMISSION_DENIED -> kPermissionDenied,
// UNAVAILABLE and transport failures -> kUnavailable, DEADLINE_EXCEEDED -> kDeadlineExceeded,
// INVALID_ARGUMENT -> kInvalidArgument, DATA_LOSS -> kDataLoss, others -> kInternal.
//
// THREADING: the callback runs on a gRPC-owned thread. It must be short and must not block;
// the proxy posts the result back to the io_context of the connection that asked, e.g.
//   client.lease_dek(alias, topic, 0, [ex = socket.get_executor()](auto r) {
//     asio::post(ex, [r = std::move(r)]() mutable { ... });
//   });
// The destructor waits until every started call has run its callback.
class KeyBrokerClient {
 public:
  // Reads the TLS files; kInvalidArgument naming the file when one cannot be read.
  static Result<std::unique_ptr<KeyBrokerClient>> create(const KeyBrokerClientOptions& options);
  ~KeyBrokerClient();

  KeyBrokerClient(const KeyBrokerClient&) = delete;
  KeyBrokerClient& operator=(const KeyBrokerClient&) = delete;

  void lease_dek(const std::string& kek_alias, const std::string& topic,
                 uint64_t requested_encryptions, std::function<void(Result<DekLease>)> done);
  void unwrap_dek(std::span<const uint8_t> edek, const std::string& topic,
                  std::function<void(Result<UnwrappedDek>)> done);
  void resolve_alias(const std::string& kek_alias, std::function<void(Result<KekResolution>)> done);

 private:
  struct Impl;
  explicit KeyBrokerClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kenc::proxy::keybroker_client
