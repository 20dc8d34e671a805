#include "proxy/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <asio/ip/address.hpp>

namespace kenc::proxy::tls {
namespace {

// The reason of the last OpenSSL error, or asio's message.
std::string describe(const asio::error_code& ec) {
  std::string what = ec.message();
  if (unsigned long e = ERR_peek_last_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    what += " (" + std::string(buf) + ")";
  }
  ERR_clear_error();
  return what;
}

Error file_error(const std::string& role, const std::string& path, const asio::error_code& ec) {
  return make_error(ErrorCode::kInvalidArgument,
                    "cannot load " + role + " '" + path + "': " + describe(ec));
}

Status restrict_versions(asio::ssl::context& ctx) {
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1) {
    return make_error(ErrorCode::kInternal, "cannot require TLS 1.2 or later");
  }
  return Status::Ok();
}

Status load_key_pair(asio::ssl::context& ctx, const std::string& cert_file,
                     const std::string& key_file) {
  asio::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return file_error("certificate", cert_file, ec);
  }
  ctx.use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) {
    return file_error("private key", key_file, ec);
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    ERR_clear_error();
    return make_error(
        ErrorCode::kInvalidArgument,
        "private key '" + key_file + "' does not match certificate '" + cert_file + "'");
  }
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> make_server_context(const config::DownstreamTls& tls) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  if (Status st = restrict_versions(*ctx); !st.ok()) {
    return st.error();
  }
  if (Status st = load_key_pair(*ctx, tls.cert_file, tls.key_file); !st.ok()) {
    return st.error();
  }
  if (!tls.client_ca_file.empty()) {
    asio::error_code ec;
    ctx->load_verify_file(tls.client_ca_file, ec);
    if (ec) {
      return file_error("client CA", tls.client_ca_file, ec);
    }
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none);
  }
  return ctx;
}

Result<std::shared_ptr<asio::ssl::context>> make_client_context(const config::UpstreamTls& tls) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  if (Status st = restrict_versions(*ctx); !st.ok()) {
    return st.error();
  }
  asio::error_code ec;
  if (tls.trust_store_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      return make_error(ErrorCode::kInternal,
                        "cannot load the system trust store: " + describe(ec));
    }
  } else {
    ctx->load_verify_file(tls.trust_store_file, ec);
    if (ec) {
      return file_error("trust store", tls.trust_store_file, ec);
    }
  }
  ctx->set_verify_mode(asio::ssl::verify_peer);
  if (!tls.cert_file.empty()) {
    if (Status st = load_key_pair(*ctx, tls.cert_file, tls.key_file); !st.ok()) {
      return st.error();
    }
  }
  return ctx;
}

Status prepare_client_stream(asio::ssl::stream<asio::ip::tcp::socket>& stream,
                             const std::string& host, bool verify_hostname) {
  SSL* ssl = stream.native_handle();
  asio::error_code ec;
  asio::ip::make_address(host, ec);
  const bool is_ip = !ec;
  // SSL_set_tlsext_host_name() is a macro with a C cast; this is what it expands to.
  if (!is_ip && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                         const_cast<char*>(host.c_str())) != 1) {
    ERR_clear_error();
    return make_error(ErrorCode::kInvalidArgument, "cannot set SNI '" + host + "'");
  }
  if (!verify_hostname) {
    return Status::Ok();
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                 : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  if (ok != 1) {
    ERR_clear_error();
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot require host name '" + host + "' in the certificate");
  }
  return Status::Ok();
}

std::optional<std::string> requested_server_name(asio::ssl::stream<asio::ip::tcp::socket>& stream) {
  const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
  if (name == nullptr || *name == '\0') {
    return std::nullopt;
  }
  return std::string(name);
}

}  // namespace kenc::proxy::tls
