#include "proxy/config/proxy_config.h"

#include <filesystem>
#include <limits>
#include <set>

#include "common/config/config_error.h"
#include "common/config/yaml_file.h"
#include "proxy/config/proxy_config_keys.h"

namespace kenc::proxy::config {
namespace {

using kenc::config::ConfigError;

// A node together with its dotted path, so every error can name the key.
struct Field {
  YAML::Node node;
  std::string path;

  // Const lookups: a missing key must not be inserted into the document.
  Field child(const std::string& key) const {
    const YAML::Node& n = node;
    return Field{n[key], path.empty() ? key : path + "." + key};
  }
  Field element(size_t i) const {
    const YAML::Node& n = node;
    return Field{n[i], path + "[" + std::to_string(i) + "]"};
  }
  bool present() const { return node.IsDefined() && !node.IsNull(); }
  // yaml-cpp throws on type queries of a missing node: every typed read checks this first.
  void require() const {
    if (!present()) {
      throw ConfigError(path, "is required");
    }
  }
};

void require_map(const Field& f) {
  f.require();
  if (!f.node.IsMap()) {
    throw ConfigError(f.path, "must be a mapping");
  }
}

// The accepted keys come from proxy_config_keys(), the list docs/configuration.md is checked
// against, so the parser cannot accept a key the reference does not document.
void reject_unknown_keys(const Field& f) {
  require_map(f);
  const auto& known = proxy_config_keys().keys_under(f.path);
  for (const auto& kv : f.node) {
    auto key = kv.first.as<std::string>();
    if (!known.contains(key)) {
      std::string prefix = f.path.empty() ? "" : f.path + ".";
      throw ConfigError(prefix + key, "unknown key");
    }
  }
}

std::string get_string(const Field& f) {
  f.require();
  if (!f.node.IsScalar()) {
    throw ConfigError(f.path, "must be a string");
  }
  auto s = f.node.as<std::string>();
  if (s.empty()) {
    throw ConfigError(f.path, "must not be empty");
  }
  return s;
}

int64_t get_int(const Field& f, int64_t min, int64_t max) {
  f.require();
  int64_t v = 0;
  if (!f.node.IsScalar() || !YAML::convert<int64_t>::decode(f.node, v)) {
    throw ConfigError(f.path, "must be an integer");
  }
  if (v < min || v > max) {
    throw ConfigError(f.path, "must be between " + std::to_string(min) + " and " +
                                  std::to_string(max) + ", got " + std::to_string(v));
  }
  return v;
}

bool get_bool(const Field& f) {
  f.require();
  bool v = false;
  if (!f.node.IsScalar() || !YAML::convert<bool>::decode(f.node, v)) {
    throw ConfigError(f.path, "must be true or false");
  }
  return v;
}

std::string get_readable_file(const Field& f) {
  auto path = get_string(f);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw ConfigError(f.path, "file '" + path + "' does not exist or is not a regular file");
  }
  return path;
}

HostPort get_host_port(const Field& f, bool allow_zero) {
  return parse_host_port(f.path, get_string(f), allow_zero);
}

DownstreamTls parse_downstream_tls(const Field& f) {
  reject_unknown_keys(f);
  DownstreamTls tls;
  tls.cert_file = get_readable_file(f.child("cert_file"));
  tls.key_file = get_readable_file(f.child("key_file"));
  if (f.child("client_ca_file").present()) {
    tls.client_ca_file = get_readable_file(f.child("client_ca_file"));
  }
  return tls;
}

UpstreamTls parse_upstream_tls(const Field& f) {
  reject_unknown_keys(f);
  UpstreamTls tls;
  if (f.child("trust_store_file").present()) {
    tls.trust_store_file = get_readable_file(f.child("trust_store_file"));
  }
  bool has_cert = f.child("cert_file").present();
  bool has_key = f.child("key_file").present();
  if (has_cert != has_key) {
    throw ConfigError(f.child(has_cert ? "key_file" : "cert_file").path,
                      "a client certificate needs both cert_file and key_file");
  }
  if (has_cert) {
    tls.cert_file = get_readable_file(f.child("cert_file"));
    tls.key_file = get_readable_file(f.child("key_file"));
  }
  if (f.child("verify_hostname").present()) {
    tls.verify_hostname = get_bool(f.child("verify_hostname"));
  }
  return tls;
}

Gateway parse_gateway(const Field& f) {
  reject_unknown_keys(f);
  Gateway g;
  if (!f.child("bootstrap").present()) {
    throw ConfigError(f.child("bootstrap").path, "is required (host:port clients bootstrap to)");
  }
  g.bootstrap = get_host_port(f.child("bootstrap"), /*allow_zero=*/true);
  if (f.child("tls").present()) {
    g.tls = parse_downstream_tls(f.child("tls"));
  }
  Field ppb = f.child("port_per_broker");
  Field sni = f.child("sni");
  if (ppb.present() && sni.present()) {
    throw ConfigError(f.path, "choose either port_per_broker or sni, not both");
  }
  if (ppb.present()) {
    reject_unknown_keys(ppb);
    PortPerBroker p;
    constexpr int64_t kMaxNode = std::numeric_limits<int32_t>::max();
    if (ppb.child("node_id_min").present()) {
      p.node_id_min = static_cast<int32_t>(get_int(ppb.child("node_id_min"), 0, kMaxNode));
    }
    if (!ppb.child("node_id_max").present()) {
      throw ConfigError(ppb.child("node_id_max").path, "is required");
    }
    p.node_id_max =
        static_cast<int32_t>(get_int(ppb.child("node_id_max"), p.node_id_min, kMaxNode));
    if (g.bootstrap.port != 0 &&
        int64_t{g.bootstrap.port} + 1 + (int64_t{p.node_id_max} - p.node_id_min) > 65535) {
      throw ConfigError(ppb.child("node_id_max").path,
                        "the broker ports (bootstrap port + 1 + node id offset) run past 65535");
    }
    p.advertised_host = ppb.child("advertised_host").present()
                            ? get_string(ppb.child("advertised_host"))
                            : g.bootstrap.host;
    g.port_per_broker = p;
  }
  if (sni.present()) {
    reject_unknown_keys(sni);
    g.sni = SniRouting{get_string(sni.child("domain"))};
    if (!g.tls) {
      throw ConfigError(f.child("tls").path,
                        "SNI routing needs TLS termination (cert_file, key_file)");
    }
  }
  return g;
}

Encryption parse_encryption(const Field& f) {
  reject_unknown_keys(f);
  Encryption e;
  if (f.child("encrypt_headers").present()) {
    e.encrypt_headers = get_bool(f.child("encrypt_headers"));
  }
  if (f.child("scale_fetch_limits").present()) {
    e.scale_fetch_limits = get_bool(f.child("scale_fetch_limits"));
  }
  if (f.child("fetch_read_ahead").present()) {
    e.fetch_read_ahead = get_bool(f.child("fetch_read_ahead"));
  }
  if (f.child("fetch_read_ahead_max_bytes").present()) {
    e.fetch_read_ahead_max_bytes =
        static_cast<size_t>(get_int(f.child("fetch_read_ahead_max_bytes"), 0, int64_t{1} << 40));
  }
  Field kb = f.child("key_broker");
  reject_unknown_keys(kb);
  e.key_broker.target = get_host_port(kb.child("target"), false).to_string();
  if (kb.child("insecure_plaintext_for_development").present()) {
    e.key_broker.insecure_plaintext_for_development =
        get_bool(kb.child("insecure_plaintext_for_development"));
  }
  if (!e.key_broker.insecure_plaintext_for_development) {
    // Mutual TLS is the only way to talk to the key broker outside development.
    e.key_broker.ca_file = get_readable_file(kb.child("ca_file"));
    e.key_broker.cert_file = get_readable_file(kb.child("cert_file"));
    e.key_broker.key_file = get_readable_file(kb.child("key_file"));
  }
  if (kb.child("server_name_override").present()) {
    e.key_broker.server_name_override = get_string(kb.child("server_name_override"));
  }
  if (kb.child("deadline_ms").present()) {
    e.key_broker.deadline = std::chrono::milliseconds(get_int(kb.child("deadline_ms"), 10, 600000));
  }
  Field topics = f.child("topics");
  require_map(topics);
  e.topics = topics.node;
  e.topics_key = topics.path;
  Field cache = f.child("dek_cache");
  if (cache.present()) {
    reject_unknown_keys(cache);
    if (cache.child("max_entries").present()) {
      e.dek_cache_max_entries =
          static_cast<size_t>(get_int(cache.child("max_entries"), 1, 100'000'000));
    }
    if (cache.child("idle_ttl_ms").present()) {
      e.dek_cache_idle_ttl = std::chrono::milliseconds(
          get_int(cache.child("idle_ttl_ms"), 1000, int64_t{7} * 86400 * 1000));
    }
  }
  return e;
}

VirtualCluster parse_virtual_cluster(const Field& f) {
  reject_unknown_keys(f);
  VirtualCluster vc;
  vc.name = get_string(f.child("name"));
  Field up = f.child("upstream");
  if (!up.present()) {
    throw ConfigError(up.path, "is required");
  }
  reject_unknown_keys(up);
  Field servers = up.child("bootstrap_servers");
  if (!servers.present() || !servers.node.IsSequence() || servers.node.size() == 0) {
    throw ConfigError(servers.path, "must be a non-empty list of host:port");
  }
  for (size_t i = 0; i < servers.node.size(); ++i) {
    vc.upstream_bootstrap_servers.push_back(get_host_port(servers.element(i), false));
  }
  if (up.child("tls").present()) {
    vc.upstream_tls = parse_upstream_tls(up.child("tls"));
  }
  Field gw = f.child("gateway");
  if (!gw.present()) {
    throw ConfigError(gw.path, "is required");
  }
  vc.gateway = parse_gateway(gw);
  if (f.child("encryption").present()) {
    vc.encryption = parse_encryption(f.child("encryption"));
  }
  return vc;
}

// Every port a cluster listens on (bootstrap, then one per broker node).
std::vector<uint16_t> listen_ports(const Gateway& g) {
  std::vector<uint16_t> ports{g.bootstrap.port};
  if (g.port_per_broker && g.bootstrap.port != 0) {
    for (int64_t n = 0;
         n <= int64_t{g.port_per_broker->node_id_max} - g.port_per_broker->node_id_min; ++n) {
      ports.push_back(static_cast<uint16_t>(g.bootstrap.port + 1 + n));
    }
  }
  return ports;
}

}  // namespace

HostPort parse_host_port(const std::string& key, const std::string& text, bool allow_zero) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw ConfigError(key, "'" + text + "' is not host:port");
  }
  HostPort hp;
  hp.host = text.substr(0, colon);
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);  // [::1]:9092
  }
  int64_t port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) {
      throw ConfigError(key, "'" + text + "' has an invalid port");
    }
    port = port * 10 + (c - '0');
  }
  if (port > 65535 || (port == 0 && !allow_zero)) {
    throw ConfigError(key, "'" + text + "' has a port outside 1..65535");
  }
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

ProxyConfig parse_proxy_config(const YAML::Node& root) {
  Field top{root, ""};
  reject_unknown_keys(top);
  ProxyConfig c;
  if (top.child("worker_threads").present()) {
    c.worker_threads = static_cast<size_t>(get_int(top.child("worker_threads"), 0, 1024));
  }
  if (top.child("helper_threads").present()) {
    c.helper_threads = static_cast<size_t>(get_int(top.child("helper_threads"), 0, 1024));
  }
  if (top.child("max_frame_bytes").present()) {
    c.max_frame_bytes = static_cast<int32_t>(
        get_int(top.child("max_frame_bytes"), 1024, std::numeric_limits<int32_t>::max()));
  }
  if (top.child("idle_timeout_ms").present()) {
    c.idle_timeout = std::chrono::milliseconds(
        get_int(top.child("idle_timeout_ms"), 1, int64_t{7} * 24 * 3600 * 1000));
  }
  if (top.child("drain_timeout_ms").present()) {
    c.drain_timeout =
        std::chrono::milliseconds(get_int(top.child("drain_timeout_ms"), 0, int64_t{3600} * 1000));
  }
  if (top.child("max_inflight_requests").present()) {
    c.max_inflight_requests =
        static_cast<size_t>(get_int(top.child("max_inflight_requests"), 1, 1 << 20));
  }
  if (top.child("max_queued_bytes").present()) {
    c.max_queued_bytes = static_cast<size_t>(
        get_int(top.child("max_queued_bytes"), 1024, std::numeric_limits<int32_t>::max()));
  }
  if (top.child("admin").present()) {
    Field admin = top.child("admin");
    reject_unknown_keys(admin);
    AdminListener a;
    if (admin.child("address").present()) {
      a.address = get_host_port(admin.child("address"), true);
    }
    c.admin = a;
  }
  Field vcs = top.child("virtual_clusters");
  if (!vcs.present() || !vcs.node.IsSequence() || vcs.node.size() == 0) {
    throw ConfigError("virtual_clusters", "must be a non-empty list");
  }
  std::set<std::string> names;
  std::set<std::pair<std::string, uint16_t>> taken;
  for (size_t i = 0; i < vcs.node.size(); ++i) {
    Field vcf = vcs.element(i);
    VirtualCluster vc = parse_virtual_cluster(vcf);
    if (!names.insert(vc.name).second) {
      throw ConfigError(vcf.child("name").path, "duplicate virtual cluster name '" + vc.name + "'");
    }
    for (uint16_t port : listen_ports(vc.gateway)) {
      if (port != 0 && !taken.emplace(vc.gateway.bootstrap.host, port).second) {
        throw ConfigError(vcf.child("gateway").path,
                          "port " + std::to_string(port) + " on " + vc.gateway.bootstrap.host +
                              " is already used by another virtual cluster");
      }
    }
    c.virtual_clusters.push_back(std::move(vc));
  }
  return c;
}

ProxyConfig load_proxy_config(const std::string& path) {
  return parse_proxy_config(kenc::config::load_yaml_file(path));
}

}  // namespace kenc::proxy::config
