#pragma once

#include <string>

namespace kenc::testworld {

// A throw-away PKI for TLS tests, made with the `openssl` CLI: a CA, and a server certificate
// signed by it for 127.0.0.1 and localhost (serverAuth and clientAuth, so it can also serve as
// a client certificate in mutual-TLS tests). Keys are unencrypted PKCS#8 PEM, which is what Kafka's
// `ssl.keystore.type=PEM` wants. Valid for two days.
struct TlsCertificates {
  std::string ca_cert;     // ca.pem: trust anchor for clients (kcat ssl.ca.location)
  std::string ca_key;      // ca.key
  std::string cert;        // server.pem: the leaf certificate alone
  std::string cert_chain;  // server-chain.pem: leaf + CA, for KafkaCluster::Options
  std::string key;         // server.key
};

// Writes the files into `dir` (created if missing). Throws std::runtime_error with openssl's
// output when a step fails.
TlsCertificates make_tls_certificates(const std::string& dir,
                                      const std::string& common_name = "localhost");

}  // namespace kenc::testworld
