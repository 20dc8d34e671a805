#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace kenc::proxy {

// N threads, each running its own io_context. A connection is pinned to one of them (with its
// broker connection), so its state needs no locks and stays in one core's cache.
class WorkerPool {
 public:
  // `threads` 0 means one per hardware thread (see count_for).
  explicit WorkerPool(size_t threads);
  // The number of workers a pool built with `threads` runs.
  static size_t count_for(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t size() const { return contexts_.size(); }
  // Round-robin choice of the worker for the next connection. Thread-safe.
  asio::io_context& next();
  asio::io_context& at(size_t i) { return *contexts_[i]; }

  // Lets the workers finish their handlers and joins them (idempotent).
  void stop();

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace kenc::proxy
