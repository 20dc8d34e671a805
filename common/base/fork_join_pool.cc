#include "common/base/fork_join_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>

namespace kenc {

struct ForkJoinPool::Job {
  Job(size_t n, const std::function<void(size_t)>& t) : count(n), task(&t) {}

  const size_t count;
  // Valid while the caller is in run(): it waits for every started item, and nobody starts
  // one after the last was taken.
  const std::function<void(size_t)>* task;
  std::atomic<size_t> next{0};      // the next item nobody has taken
  std::atomic<size_t> finished{0};  // items that ran (or were skipped after a failure)
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::exception_ptr error;

  bool exhausted() const { return next.load(std::memory_order_relaxed) >= count; }
};

ForkJoinPool::ForkJoinPool(size_t helpers) {
  threads_.reserve(helpers);
  for (size_t i = 0; i < helpers; ++i) {
    threads_.emplace_back([this] { helper_loop(); });
  }
}

ForkJoinPool::~ForkJoinPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) {
    thread.join();
  }
}

void ForkJoinPool::work_on(Job& job) {
  for (size_t i = job.next.fetch_add(1); i < job.count; i = job.next.fetch_add(1)) {
    if (!job.failed.load(std::memory_order_relaxed)) {
      try {
        (*job.task)(i);
      } catch (...) {
        std::lock_guard lock(job.error_mutex);
        if (!job.error) {
          job.error = std::current_exception();
        }
        job.failed = true;
      }
    }
    if (job.finished.fetch_add(1, std::memory_order_acq_rel) + 1 == job.count) {
      job.finished.notify_all();
    }
  }
}

void ForkJoinPool::run(size_t count, const std::function<void(size_t)>& task) {
  if (count == 0) {
    return;
  }
  auto job = std::make_shared<Job>(count, task);
  const bool share = !threads_.empty() && count > 1;
  if (share) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(job);
    }
    // Wake as many helpers as there are items beyond the caller's first.
    const size_t wanted = std::min(threads_.size(), count - 1);
    for (size_t i = 0; i < wanted; ++i) {
      wake_.notify_one();
    }
  }
  work_on(*job);
  if (share) {
    std::lock_guard lock(mutex_);
    auto it = std::find(jobs_.begin(), jobs_.end(), job);
    if (it != jobs_.end()) {
      jobs_.erase(it);
    }
  }
  for (size_t done = job->finished.load(std::memory_order_acquire); done != count;
       done = job->finished.load(std::memory_order_acquire)) {
    job->finished.wait(done, std::memory_order_acquire);
  }
  if (job->error) {
    std::rethrow_exception(job->error);
  }
}

void ForkJoinPool::helper_loop() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) {
        return;
      }
      job = jobs_.front();
      if (job->exhausted()) {
        // Every item is taken: nothing left here for a helper.
        jobs_.pop_front();
        continue;
      }
    }
    work_on(*job);
  }
}

}  // namespace kenc
