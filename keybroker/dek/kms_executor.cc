#include "keybroker/dek/kms_executor.h"

namespace kenc::keybroker::dek {

KmsExecutor::KmsExecutor(size_t threads) {
  if (threads == 0) {
    threads = 1;
  }
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

KmsExecutor::~KmsExecutor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    t.join();
  }
}

void KmsExecutor::post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void KmsExecutor::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping and drained
      }
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace kenc::keybroker::dek
