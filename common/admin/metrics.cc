#include "common/admin/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace kenc::admin {
namespace {

size_t this_thread_shard(size_t shards) {
  static std::atomic<size_t> next_thread{0};
  thread_local size_t index = next_thread.fetch_add(1, std::memory_order_relaxed);
  return index % shards;
}

bool valid_name(const std::string& name, bool allow_colon) {
  if (name.empty()) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  return name.rfind("__", 0) != 0;
}

std::string format_double(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

void append_escaped(std::string& out, const std::string& s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `{a="x",b="y"}` or "" when there are no labels; `extra` appends one more pair (le=...).
std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const char* extra_name = nullptr, const std::string& extra_value = {}) {
  if (names.empty() && extra_name == nullptr) {
    return {};
  }
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += names[i];
    out += "=\"";
    append_escaped(out, values[i], true);
    out += '"';
  }
  if (extra_name != nullptr) {
    if (!names.empty()) {
      out += ',';
    }
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

template <typename F>
void render_header(std::string& out, const F& family, const char* type) {
  out += "# HELP ";
  out += family.name();
  out += ' ';
  append_escaped(out, family.help(), false);
  out += "\n# TYPE ";
  out += family.name();
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

void Counter::inc(uint64_t n) {
  shards_[this_thread_shard(kShards)].count.fetch_add(n, std::memory_order_relaxed);
}

uint64_t Counter::value() const {
  uint64_t total = 0;
  for (const auto& shard : shards_) {
    total += shard.count.load(std::memory_order_relaxed);
  }
  return total;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end()) {
    throw std::invalid_argument("histogram bucket bounds must be strictly ascending");
  }
}

void Histogram::observe(double v) {
  size_t i =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.upper_bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snap.cumulative_counts.push_back(running);
  }
  snap.count = running;
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

std::vector<double> default_latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      buckets_(std::move(buckets)) {}

template <typename Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + " takes " +
                                std::to_string(label_names_.size()) + " label values");
  }
  std::lock_guard lock(mutex_);
  auto it = series_.find(label_values);
  if (it == series_.end()) {
    std::unique_ptr<Metric> metric;
    if constexpr (std::is_same_v<Metric, Histogram>) {
      metric = std::make_unique<Histogram>(buckets_);
    } else {
      metric = std::make_unique<Metric>();
    }
    it = series_.emplace(label_values, std::move(metric)).first;
  }
  return *it->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void MetricsRegistry::claim_name(const std::string& name,
                                 const std::vector<std::string>& label_names) {
  if (!valid_name(name, true)) {
    throw std::invalid_argument("invalid metric name: " + name);
  }
  for (const auto& label : label_names) {
    if (!valid_name(label, false) || label == "le") {
      throw std::invalid_argument("invalid label name '" + label + "' for metric " + name);
    }
  }
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
    throw std::invalid_argument("metric registered twice: " + name);
  }
  names_.push_back(name);
}

CounterFamily& MetricsRegistry::counter_family(const std::string& name, const std::string& help,
                                               std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  claim_name(name, label_names);
  counters_.push_back(std::make_unique<CounterFamily>(name, help, std::move(label_names)));
  return *counters_.back();
}

GaugeFamily& MetricsRegistry::gauge_family(const std::string& name, const std::string& help,
                                           std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  claim_name(name, label_names);
  gauges_.push_back(std::make_unique<GaugeFamily>(name, help, std::move(label_names)));
  return *gauges_.back();
}

HistogramFamily& MetricsRegistry::histogram_family(const std::string& name, const std::string& help,
                                                   std::vector<std::string> label_names,
                                                   std::vector<double> upper_bounds) {
  Histogram check(upper_bounds);  // validates the bounds before anything is registered
  std::lock_guard lock(mutex_);
  claim_name(name, label_names);
  histograms_.push_back(std::make_unique<HistogramFamily>(name, help, std::move(label_names),
                                                          std::move(upper_bounds)));
  return *histograms_.back();
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help) {
  return counter_family(name, help, {}).with({});
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help) {
  return gauge_family(name, help, {}).with({});
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      std::vector<double> upper_bounds) {
  return histogram_family(name, help, {}, std::move(upper_bounds)).with({});
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& family : counters_) {
    render_header(out, *family, "counter");
    family->for_each([&](const std::vector<std::string>& values, const Counter& c) {
      out += family->name() + label_set(family->label_names(), values) + ' ' +
             std::to_string(c.value()) + '\n';
    });
  }
  for (const auto& family : gauges_) {
    render_header(out, *family, "gauge");
    family->for_each([&](const std::vector<std::string>& values, const Gauge& g) {
      out += family->name() + label_set(family->label_names(), values) + ' ' +
             format_double(g.value()) + '\n';
    });
  }
  for (const auto& family : histograms_) {
    render_header(out, *family, "histogram");
    family->for_each([&](const std::vector<std::string>& values, const Histogram& h) {
      auto snap = h.snapshot();
      const auto& names = family->label_names();
      for (size_t i = 0; i <= snap.upper_bounds.size(); ++i) {
        std::string le =
            i < snap.upper_bounds.size() ? format_double(snap.upper_bounds[i]) : "+Inf";
        out += family->name() + "_bucket" + label_set(names, values, "le", le) + ' ' +
               std::to_string(snap.cumulative_counts[i]) + '\n';
      }
      out +=
          family->name() + "_sum" + label_set(names, values) + ' ' + format_double(snap.sum) + '\n';
      out += family->name() + "_count" + label_set(names, values) + ' ' +
             std::to_string(snap.count) + '\n';
    });
  }
  return out;
}

}  // namespace kenc::admin
