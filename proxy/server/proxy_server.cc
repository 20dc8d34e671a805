#include "proxy/server/proxy_server.h"

#include <glog/logging.h>

#include <thread>

namespace kenc::proxy {

ProxyServer::ProxyServer(ProxyServerOptions options)
    : options_(std::move(options)),
      registry_(options_.metrics_registry ? options_.metrics_registry
                                          : std::make_shared<admin::MetricsRegistry>()),
      metrics_(*registry_),
      workers_(options_.worker_threads) {
  for (const auto& spec : options_.clusters) {
    auto env = std::make_shared<ConnectionEnv>();
    env->virtual_cluster = spec.name;
    env->upstream.servers = spec.upstream_servers;
    env->upstream.resolve = spec.upstream_resolver;
    env->upstream.resolve_by_name = spec.upstream_resolver_by_name;
    env->upstream.tls = spec.upstream_tls.get();
    env->upstream.verify_hostname = spec.verify_upstream_hostname;
    env->filters = spec.filters ? spec.filters : std::make_shared<FilterChain>();
    env->limits = options_.limits;
    env->metrics = &metrics_;
    env->tracker = &tracker_;
    envs_.push_back(env);
    listeners_.push_back(std::make_unique<Listener>(workers_, env, spec.client_tls.get()));
  }
}

ProxyServer::~ProxyServer() { drain(); }

Status ProxyServer::start() {
  for (size_t i = 0; i < listeners_.size(); ++i) {
    const auto& spec = options_.clusters[i];
    auto status = listeners_[i]->start(spec.listen);
    if (!status.ok()) {
      return make_error(status.error().code,
                        "virtual cluster " + spec.name + ": " + status.error().message);
    }
    LOG(INFO) << "virtual cluster " << spec.name << " listening on " << spec.listen.host << ":"
              << listeners_[i]->port() << (spec.client_tls ? " (TLS)" : "") << ", upstream "
              << (spec.upstream_resolver_by_name ? std::string("by TLS server name (SNI)")
                  : spec.upstream_resolver       ? std::string("its broker (learned from metadata)")
                  : spec.upstream_servers.empty() ? std::string("-")
                                                  : spec.upstream_servers.front().to_string())
              << (spec.upstream_tls ? " (TLS)" : "");
  }
  if (options_.admin) {
    admin_ = std::make_unique<admin::AdminServer>(*options_.admin, *registry_,
                                                  [this] { return ready_.load(); });
    auto status = admin_->start();
    if (!status.ok()) {
      return make_error(status.error().code, "admin endpoint: " + status.error().message);
    }
    LOG(INFO) << "admin endpoint on " << options_.admin->address << ":" << admin_->port();
  }
  ready_ = true;
  return Status::Ok();
}

void ProxyServer::drain() {
  if (drained_) {
    return;
  }
  drained_ = true;
  ready_ = false;
  for (auto& listener : listeners_) {
    listener->stop();
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  if (tracker_.count() > 0) {
    LOG(INFO) << "draining " << tracker_.count() << " connection(s)";
  }
  while (tracker_.count() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (tracker_.count() > 0) {
    LOG(INFO) << "closing " << tracker_.count() << " connection(s) after the drain timeout";
    tracker_.close_all();
    for (int i = 0; i < 100 && tracker_.count() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  workers_.stop();
  if (admin_) {
    admin_->stop();
  }
}

}  // namespace kenc::proxy
