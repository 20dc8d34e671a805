#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace kenc::keybroker::testing {

// A certificate and its private key, PEM-encoded.
struct Pem {
  std::string cert;
  std::string key;
  // Writes <dir>/<name>.crt and <dir>/<name>.key (0600); returns the paths.
  std::pair<std::string, std::string> write(const std::filesystem::path& dir,
                                            const std::string& name) const;
};

struct CertSpec {
  std::string common_name;
  std::string subject_alt_names;  // OpenSSL syntax, e.g. "URI:spiffe://kenc/proxy,DNS:localhost"
  std::chrono::seconds valid_from = std::chrono::hours(-1);  // relative to now
  std::chrono::seconds valid_until = std::chrono::hours(24);
};

// A throw-away certificate authority generated at test time with the OpenSSL C API
// (EC P-256 keys, SHA-256 signatures). Aborts the test (via exception) on any OpenSSL failure.
class TestCa {
 public:
  explicit TestCa(const std::string& name);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& cert_pem() const { return ca_.cert; }
  // Issues a leaf certificate usable for TLS servers and clients.
  Pem issue(const CertSpec& spec) const;

 private:
  struct State;
  State* state_;
  Pem ca_;
};

}  // namespace kenc::keybroker::testing
