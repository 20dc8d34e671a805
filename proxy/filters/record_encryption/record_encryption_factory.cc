#include "proxy/filters/record_encryption/record_encryption_factory.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/config/config_error.h"
#include "proxy/filters/record_encryption/record_encryption_filter.h"
#include "proxy/keybroker_client/keybroker_client.h"

namespace kenc::record_encryption {
namespace {

namespace kb = proxy::keybroker_client;

// Runs `task` every `period` on its own thread until destroyed: the DEK cache's idle sweep,
// so an idle DEK is dropped (and wiped) even when no traffic comes to trigger it.
class PeriodicTask {
 public:
  PeriodicTask(std::chrono::milliseconds period, std::function<void()> task)
      : thread_([this, period, task = std::move(task)] {
          std::unique_lock lock(mutex_);
          while (!cv_.wait_for(lock, period, [this] { return stopping_; })) {
            lock.unlock();
            task();
            lock.lock();
          }
        }) {}
  ~PeriodicTask() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

// The filter plus what it needs kept alive and torn down in order: the sweep stops first,
// then the filter (and with it the caches), then the key broker client, which waits for the
// calls still in flight.
class OwningFilter final : public proxy::Filter {
 public:
  OwningFilter(std::shared_ptr<kb::KeyBrokerClient> client,
               std::unique_ptr<RecordEncryptionFilter> filter, std::unique_ptr<PeriodicTask> sweep)
      : client_(std::move(client)), filter_(std::move(filter)), sweep_(std::move(sweep)) {}
  ~OwningFilter() override {
    sweep_.reset();
    filter_.reset();
  }

  std::string_view name() const override { return filter_->name(); }
  bool handles_request(int16_t k, int16_t v) const override {
    return filter_->handles_request(k, v);
  }
  bool handles_response(int16_t k, int16_t v) const override {
    return filter_->handles_response(k, v);
  }
  asio::awaitable<proxy::RequestVerdict> on_request(const proxy::RequestContext& c,
                                                    proxy::Frame f) override {
    return filter_->on_request(c, std::move(f));
  }
  asio::awaitable<proxy::Frame> on_response(const proxy::RequestContext& c,
                                            proxy::Frame f) override {
    return filter_->on_response(c, std::move(f));
  }

 private:
  std::shared_ptr<kb::KeyBrokerClient> client_;
  std::unique_ptr<RecordEncryptionFilter> filter_;
  std::unique_ptr<PeriodicTask> sweep_;
};

}  // namespace

std::shared_ptr<proxy::Filter> make_record_encryption_filter(
    const proxy::config::Encryption& config, const std::string& key,
    const std::string& virtual_cluster,
    std::shared_ptr<proxy::address_rewrite::TopicIdMap> topic_ids,
    std::shared_ptr<EncryptionMetricFamilies> metric_families,
    std::shared_ptr<ForkJoinPool> helpers, int32_t max_frame_bytes) {
  kb::KeyBrokerClientOptions options;
  options.target = config.key_broker.target;
  options.ca_file = config.key_broker.ca_file;
  options.cert_file = config.key_broker.cert_file;
  options.key_file = config.key_broker.key_file;
  options.server_name_override = config.key_broker.server_name_override;
  options.deadline = config.key_broker.deadline;
  options.insecure_plaintext_for_development = config.key_broker.insecure_plaintext_for_development;
  auto created = kb::KeyBrokerClient::create(options);
  if (!created.ok()) {
    throw config::ConfigError(key + ".key_broker", created.error().message);
  }
  std::shared_ptr<kb::KeyBrokerClient> client = std::move(*created);

  RecordEncryptionDeps deps;
  deps.policy =
      std::make_shared<const TopicPolicy>(TopicPolicy::from_yaml(config.topics, config.topics_key));
  deps.topic_ids = std::move(topic_ids);
  deps.encrypt_headers = config.encrypt_headers;
  if (metric_families != nullptr) {
    deps.metrics = std::make_shared<EncryptionMetrics>(std::move(metric_families), virtual_cluster);
  }
  DekCacheOptions cache_options;
  cache_options.max_entries = config.dek_cache_max_entries;
  cache_options.idle_ttl = config.dek_cache_idle_ttl;
  // The pool and the cache hold the client by raw pointer: OwningFilter destroys them first.
  kb::KeyBrokerClient* kbc = client.get();
  auto metrics = deps.metrics;
  deps.deks = std::make_shared<DekCache>(
      cache_options,
      [kbc, metrics](std::span<const uint8_t> edek, const std::string& topic, UnwrapDone done) {
        kbc->unwrap_dek(edek, topic,
                        [done = std::move(done), metrics](Result<kb::UnwrappedDek> dek) {
                          if (metrics) {
                            metrics->unwrap(dek.ok());
                          }
                          if (!dek.ok()) {
                            done(dek.error());
                            return;
                          }
                          done(std::move(dek->dek));
                        });
      });
  DekLeasePoolOptions pool_options;
  // A consumer reading what this proxy just produced finds the DEK without an unwrap.
  pool_options.on_granted = [deks = std::weak_ptr<DekCache>(deps.deks)](
                                const DekPtr& dek, std::span<const uint8_t> edek) {
    if (auto cache = deks.lock()) {
      cache->insert(edek, dek);
    }
  };
  deps.leases = std::make_shared<DekLeasePool>(
      std::move(pool_options), [kbc, metrics](const std::string& alias, const std::string& topic,
                                              uint64_t requested, LeaseDone done) {
        kbc->lease_dek(alias, topic, requested,
                       [done = std::move(done), metrics](Result<kb::DekLease> lease) {
                         if (metrics) {
                           metrics->lease(lease.ok());
                         }
                         if (!lease.ok()) {
                           done(lease.error());
                           return;
                         }
                         GrantedLease granted;
                         granted.dek = std::move(lease->dek);
                         granted.edek = std::move(lease->edek);
                         granted.lease_number = lease->lease_number;
                         granted.encryption_budget = lease->encryption_budget;
                         granted.expires_at = lease->expires_at;
                         done(std::move(granted));
                       });
      });
  auto deks = deps.deks;
  auto sweep_period = std::clamp(config.dek_cache_idle_ttl / 4, std::chrono::milliseconds(250),
                                 std::chrono::milliseconds(60000));
  auto sweep = std::make_unique<PeriodicTask>(sweep_period, [deks] { deks->evict_idle(); });
  deps.helpers = std::move(helpers);
  if (config.scale_fetch_limits) {
    FetchLimitScaler::Options scaling;
    // A quarter of the frame limit is left for what a response may hold beyond its limit
    // (the first batch of a partition is always returned whole).
    scaling.max_scaled_bytes = max_frame_bytes - max_frame_bytes / 4;
    deps.fetch_limits = std::make_shared<FetchLimitScaler>(scaling);
  }
  if (config.fetch_read_ahead && config.fetch_read_ahead_max_bytes > 0) {
    deps.read_ahead = std::make_shared<ReadAheadBudget>(config.fetch_read_ahead_max_bytes);
  }
  auto filter = std::make_unique<RecordEncryptionFilter>(std::move(deps));
  return std::make_shared<OwningFilter>(std::move(client), std::move(filter), std::move(sweep));
}

}  // namespace kenc::record_encryption
