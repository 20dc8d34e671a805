#include "proxy/net/worker_pool.h"

namespace kenc::proxy {

size_t WorkerPool::count_for(size_t threads) {
  return threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
}

WorkerPool::WorkerPool(size_t requested) {
  const size_t threads = count_for(requested);
  for (size_t i = 0; i < threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([ctx = contexts_[i].get()] { ctx->run(); });
  }
}

WorkerPool::~WorkerPool() { stop(); }

asio::io_context& WorkerPool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void WorkerPool::stop() {
  for (auto& ctx : contexts_) {
    ctx->stop();
  }
  for (auto& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
  guards_.clear();
}

}  // namespace kenc::proxy
