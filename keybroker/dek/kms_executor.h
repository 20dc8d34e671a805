#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kenc::keybroker::dek {

// A small fixed pool of threads that make the blocking KMS calls. Request threads never call
// the KMS themselves: they wait on a future with their own deadline, so a hung KMS costs a
// caller no more than its deadline.
class KmsExecutor {
 public:
  explicit KmsExecutor(size_t threads);
  ~KmsExecutor();  // finishes queued work, then joins

  KmsExecutor(const KmsExecutor&) = delete;
  KmsExecutor& operator=(const KmsExecutor&) = delete;

  void post(std::function<void()> task);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kenc::keybroker::dek
