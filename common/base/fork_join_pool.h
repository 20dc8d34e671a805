#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace kenc {

// Splits one CPU-bound job (e.g. decrypting the batches of a Fetch response) between the
// calling thread and a few helper threads.
//
// The caller works through the items itself as well, so run() finishes even when every helper
// is busy with other callers' jobs: helpers only ever add speed. The caller waits, at the end,
// only for the items helpers have already started. That makes it usable from an event-loop
// thread for work it would otherwise do alone: the loop is held up no longer than by doing the
// job itself plus, at most, one item.
class ForkJoinPool {
 public:
  // `helpers` 0: run() calls every item on the caller's thread.
  explicit ForkJoinPool(size_t helpers);
  ~ForkJoinPool();  // lets running items finish and joins the helpers
  ForkJoinPool(const ForkJoinPool&) = delete;
  ForkJoinPool& operator=(const ForkJoinPool&) = delete;

  size_t helpers() const { return threads_.size(); }

  // Calls task(i) exactly once for each i in [0, count), concurrently from the calling thread
  // and free helpers, and returns once all calls returned. Thread-safe: several threads may
  // run jobs at once (helpers take them in turn). If a call throws, items not yet started are
  // skipped and the first exception is rethrown here once the started ones ended.
  void run(size_t count, const std::function<void(size_t)>& task);

 private:
  struct Job;
  static void work_on(Job& job);
  void helper_loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> jobs_;  // jobs that may still have items nobody took
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kenc
