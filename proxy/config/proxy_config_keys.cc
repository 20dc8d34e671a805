#include "proxy/config/proxy_config_keys.h"

namespace kenc::proxy::config {

const kenc::config::KeySchema& proxy_config_keys() {
  static const kenc::config::KeySchema kSchema{
      {"",
       {"worker_threads", "helper_threads", "max_frame_bytes", "idle_timeout_ms",
        "drain_timeout_ms", "max_inflight_requests", "max_queued_bytes", "admin",
        "virtual_clusters"}},
      {"admin", {"address"}},
      {"virtual_clusters[]", {"name", "upstream", "gateway", "encryption"}},
      {"virtual_clusters[].upstream", {"bootstrap_servers", "tls"}},
      {"virtual_clusters[].upstream.tls",
       {"trust_store_file", "cert_file", "key_file", "verify_hostname"}},
      {"virtual_clusters[].gateway", {"bootstrap", "port_per_broker", "sni", "tls"}},
      {"virtual_clusters[].gateway.port_per_broker",
       {"node_id_min", "node_id_max", "advertised_host"}},
      {"virtual_clusters[].gateway.sni", {"domain"}},
      {"virtual_clusters[].gateway.tls", {"cert_file", "key_file", "client_ca_file"}},
      {"virtual_clusters[].encryption",
       {"key_broker", "topics", "dek_cache", "encrypt_headers", "scale_fetch_limits",
        "fetch_read_ahead", "fetch_read_ahead_max_bytes"}},
      {"virtual_clusters[].encryption.key_broker",
       {"target", "ca_file", "cert_file", "key_file", "server_name_override", "deadline_ms",
        "insecure_plaintext_for_development"}},
      {"virtual_clusters[].encryption.dek_cache", {"max_entries", "idle_ttl_ms"}},
  };
  return kSchema;
}

}  // namespace kenc::proxy::config
