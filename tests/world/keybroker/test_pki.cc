#include "tests/world/keybroker/test_pki.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

namespace kenc::keybroker::testing {
namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(std::string("OpenSSL failed: ") + what);
  }
}

EVP_PKEY* new_key() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

std::string to_pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  check(PEM_write_bio_X509(bio, cert) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string to_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  check(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

X509* new_cert(const std::string& cn, EVP_PKEY* key, std::chrono::seconds from,
               std::chrono::seconds until) {
  X509* cert = X509_new();
  check(cert != nullptr, "X509_new");
  X509_set_version(cert, 2);
  BIGNUM* serial = BN_new();
  BN_rand(serial, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), static_cast<long>(from.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert), static_cast<long>(until.count()));
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

}  // namespace

struct TestCa::State {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
};

TestCa::TestCa(const std::string& name) : state_(new State) {
  state_->key = new_key();
  state_->cert = new_cert(name, state_->key, std::chrono::hours(-2), std::chrono::hours(48));
  X509_set_issuer_name(state_->cert, X509_get_subject_name(state_->cert));
  add_ext(state_->cert, state_->cert, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(state_->cert, state_->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(state_->cert, state_->cert, NID_subject_key_identifier, "hash");
  check(X509_sign(state_->cert, state_->key, EVP_sha256()) > 0, "X509_sign (CA)");
  ca_.cert = to_pem(state_->cert);
  ca_.key = to_pem(state_->key);
}

TestCa::~TestCa() {
  X509_free(state_->cert);
  EVP_PKEY_free(state_->key);
  delete state_;
}

Pem TestCa::issue(const CertSpec& spec) const {
  EVP_PKEY* key = new_key();
  X509* cert = new_cert(spec.common_name, key, spec.valid_from, spec.valid_until);
  X509_set_issuer_name(cert, X509_get_subject_name(state_->cert));
  add_ext(cert, state_->cert, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert, state_->cert, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_ext(cert, state_->cert, NID_ext_key_usage, "serverAuth,clientAuth");
  add_ext(cert, state_->cert, NID_authority_key_identifier, "keyid:always");
  if (!spec.subject_alt_names.empty()) {
    add_ext(cert, state_->cert, NID_subject_alt_name, spec.subject_alt_names);
  }
  check(X509_sign(cert, state_->key, EVP_sha256()) > 0, "X509_sign");
  Pem out{to_pem(cert), to_pem(key)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::pair<std::string, std::string> Pem::write(const std::filesystem::path& dir,
                                               const std::string& name) const {
  auto cert_path = (dir / (name + ".crt")).string();
  auto key_path = (dir / (name + ".key")).string();
  std::ofstream(cert_path) << cert;
  std::ofstream(key_path) << key;
  ::chmod(key_path.c_str(), 0600);
  return {cert_path, key_path};
}

}  // namespace kenc::keybroker::testing
