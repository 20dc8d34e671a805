#include "proxy/ops/proxy_metrics.h"

#include <string>
#include <vector>

namespace kenc::proxy {

ProxyMetrics::ProxyMetrics(admin::MetricsRegistry& registry)
    : active_(registry.gauge("kenc_proxy_connections_active", "Client connections open now")),
      accepted_(registry.counter("kenc_proxy_connections_total", "Client connections accepted")),
      bytes_in_(registry.counter("kenc_proxy_client_bytes_received_total",
                                 "Bytes received from clients")),
      bytes_out_(registry.counter("kenc_proxy_client_bytes_sent_total", "Bytes sent to clients")),
      latency_(registry.histogram("kenc_proxy_request_latency_seconds",
                                  "Time from a request's arrival to its response's dispatch")),
      requests_(
          registry.counter_family("kenc_proxy_requests_total", "Requests by API key", {"api_key"})),
      errors_(registry.counter_family("kenc_proxy_request_errors_total",
                                      "Requests that ended a connection, by API key", {"api_key"})),
      filter_time_(registry.histogram_family(
          "kenc_proxy_filter_seconds",
          "Time requests and responses spent in the filter chain, by API key and stage",
          {"api_key", "stage"})) {}

void ProxyMetrics::connection_opened() {
  accepted_.inc();
  active_.add(1);
}

void ProxyMetrics::connection_closed() { active_.add(-1); }

template <typename Metric>
Metric& ProxyMetrics::series(admin::Family<Metric>& family, SeriesCache<Metric>& cache,
                             int16_t api_key, const char* stage) {
  const bool known = api_key >= 0 && api_key <= kMaxApiKey;
  const size_t index = known ? static_cast<size_t>(api_key) : kMaxApiKey + 1;
  Metric* metric = cache[index].load(std::memory_order_acquire);
  if (metric == nullptr) {
    std::vector<std::string> labels{known ? std::to_string(api_key) : std::string("other")};
    if (stage != nullptr) {
      labels.emplace_back(stage);
    }
    metric = &family.with(labels);
    cache[index].store(metric, std::memory_order_release);
  }
  return *metric;
}

void ProxyMetrics::request(int16_t api_key) { series(requests_, request_cache_, api_key).inc(); }

void ProxyMetrics::error(int16_t api_key) { series(errors_, error_cache_, api_key).inc(); }

void ProxyMetrics::filter_seconds(int16_t api_key, FilterStage stage, double seconds) {
  if (stage == FilterStage::kRequest) {
    series(filter_time_, filter_request_cache_, api_key, "request").observe(seconds);
  } else {
    series(filter_time_, filter_response_cache_, api_key, "response").observe(seconds);
  }
}

}  // namespace kenc::proxy
