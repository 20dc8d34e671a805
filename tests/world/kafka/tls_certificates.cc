#include "tests/world/kafka/tls_certificates.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "tests/world/base/process.h"

namespace kenc::testworld {
namespace {

void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto result = run_command(argv, "", std::chrono::minutes(1));
  if (result.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("test certificates: `" + cmd + "` failed: " + result.output);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("test certificates: cannot read " + path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

TlsCertificates make_tls_certificates(const std::string& dir, const std::string& common_name) {
  std::filesystem::create_directories(dir);
  TlsCertificates c;
  c.ca_cert = dir + "/ca.pem";
  c.ca_key = dir + "/ca.key";
  c.cert = dir + "/server.pem";
  c.cert_chain = dir + "/server-chain.pem";
  c.key = dir + "/server.key";
  const std::string csr = dir + "/server.csr";
  const std::string ext = dir + "/server.ext";

  openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", c.ca_key, "-out", c.ca_cert,
           "-days", "2", "-subj", "/CN=kenc test CA", "-addext",
           "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"});
  openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", c.key, "-out", csr, "-subj",
           "/CN=" + common_name});
  {
    std::ofstream out(ext);
    out << "basicConstraints=CA:FALSE\n"
        << "keyUsage=critical,digitalSignature,keyEncipherment\n"
        << "extendedKeyUsage=serverAuth,clientAuth\n"
        << "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:" << common_name << "\n";
  }
  openssl({"x509", "-req", "-in", csr, "-CA", c.ca_cert, "-CAkey", c.ca_key, "-CAcreateserial",
           "-out", c.cert, "-days", "2", "-sha256", "-extfile", ext});
  {
    std::ofstream out(c.cert_chain, std::ios::binary);
    out << read_file(c.cert) << read_file(c.ca_cert);
    if (!out) throw std::runtime_error("test certificates: cannot write " + c.cert_chain);
  }
  return c;
}

}  // namespace kenc::testworld
