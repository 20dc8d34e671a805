#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kenc::keybroker::kms::vault::testing {

// A scripted HTTP/1.1 server on 127.0.0.1 for fast unit tests of the Vault client's transport,
// retry and authentication logic (behaviour against a real server is covered by the
// integration tests). One connection at a time, `Connection: close` after each answer.
struct RecordedRequest {
  std::string method;
  std::string target;                          // path and query, e.g. "/v1/transit/keys/k"
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct CannedResponse {
  int status = 200;
  std::string body;
  std::chrono::milliseconds delay{0};  // wait this long before answering
};

class FakeHttpServer {
 public:
  using Handler = std::function<CannedResponse(const RecordedRequest&)>;

  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<RecordedRequest> requests();
  std::vector<std::string> targets();  // just the targets, in order

 private:
  void serve();
  void handle(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

}  // namespace kenc::keybroker::kms::vault::testing
