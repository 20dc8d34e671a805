// Real TLS handshakes over loopback with certificates made by the openssl tool for the test.
#include "proxy/tls/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace kenc::proxy::tls {
namespace {

namespace fs = std::filesystem;
using asio::ip::tcp;

class TlsContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ =
        new fs::path(fs::temp_directory_path() / ("kenc-tls-test-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    std::ofstream(*dir_ / "server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    std::ofstream(*dir_ / "client.ext") << "extendedKeyUsage=clientAuth\n";
    const std::string d = dir_->string();
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string script =
        "cd " + d + " && set -e && " + "openssl req -x509" + key +
        " -keyout ca.key -out ca.pem -days 1 -subj /CN=kenc-test-ca && " + "openssl req -x509" +
        key + " -keyout other-ca.key -out other-ca.pem -days 1 -subj /CN=other && " +
        "openssl req" + key + " -keyout server.key -out server.csr -subj /CN=localhost && " +
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 " +
        "-extfile server.ext -out server.pem && " + "openssl req" + key +
        " -keyout client.key -out client.csr -subj /CN=kenc-proxy && " +
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 " +
        "-extfile client.ext -out client.pem";
    ASSERT_EQ(std::system(("(" + script + ") >/dev/null 2>&1").c_str()), 0)
        << "the openssl tool could not make the test certificates";
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }
  static std::string file(const char* name) { return (*dir_ / name).string(); }

  config::DownstreamTls server_config(bool require_client_cert = false) {
    return config::DownstreamTls{file("server.pem"), file("server.key"),
                                 require_client_cert ? file("ca.pem") : ""};
  }
  config::UpstreamTls client_config(const char* trust = "ca.pem", bool with_cert = false) {
    config::UpstreamTls c;
    c.trust_store_file = file(trust);
    if (with_cert) {
      c.cert_file = file("client.pem");
      c.key_file = file("client.key");
    }
    return c;
  }

  // Handshakes and exchanges one message; true when the client got the server's answer.
  bool exchange(asio::ssl::context& server_ctx, asio::ssl::context& client_ctx,
                const std::string& host, bool verify_hostname = true,
                std::optional<std::string>* server_name = nullptr) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor.local_endpoint().port();
    std::thread server([&] {
      asio::ssl::stream<tcp::socket> s(io, server_ctx);
      asio::error_code ec;
      acceptor.accept(s.lowest_layer(), ec);
      if (ec) {
        return;
      }
      s.handshake(asio::ssl::stream_base::server, ec);
      if (ec) {
        return;
      }
      if (server_name != nullptr) {
        *server_name = requested_server_name(s);
      }
      char buf[4];
      asio::read(s, asio::buffer(buf), ec);
      if (!ec) {
        asio::write(s, asio::buffer("pong", 4), ec);
      }
      s.shutdown(ec);
    });
    bool ok = false;
    {
      asio::ssl::stream<tcp::socket> c(io, client_ctx);
      EXPECT_TRUE(prepare_client_stream(c, host, verify_hostname).ok());
      asio::error_code ec;
      c.lowest_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
      if (!ec) {
        c.handshake(asio::ssl::stream_base::client, ec);
      }
      if (!ec) {
        asio::write(c, asio::buffer("ping", 4), ec);
      }
      char buf[4] = {};
      if (!ec) {
        asio::read(c, asio::buffer(buf), ec);
      }
      ok = !ec && std::string(buf, 4) == "pong";
      c.lowest_layer().close(ec);
    }
    server.join();
    return ok;
  }

  static fs::path* dir_;
};

fs::path* TlsContextTest::dir_ = nullptr;

TEST_F(TlsContextTest, HandshakeWithTrustStoreAndHostnameVerification) {
  auto server = make_server_context(server_config());
  auto client = make_client_context(client_config());
  ASSERT_TRUE(server.ok()) << server.error().to_string();
  ASSERT_TRUE(client.ok()) << client.error().to_string();
  EXPECT_TRUE(exchange(**server, **client, "localhost"));
  EXPECT_TRUE(exchange(**server, **client, "127.0.0.1"));  // IP SAN
}

TEST_F(TlsContextTest, WrongHostnameIsRefusedUnlessVerificationIsOff) {
  auto server = make_server_context(server_config());
  auto client = make_client_context(client_config());
  ASSERT_TRUE(server.ok() && client.ok());
  EXPECT_FALSE(exchange(**server, **client, "kafka.example.com"));
  EXPECT_TRUE(exchange(**server, **client, "kafka.example.com", /*verify_hostname=*/false));
}

TEST_F(TlsContextTest, ServerSeesTheSniNameForRouting) {
  auto server = make_server_context(server_config());
  auto client = make_client_context(client_config());
  ASSERT_TRUE(server.ok() && client.ok());
  std::optional<std::string> seen;
  EXPECT_TRUE(exchange(**server, **client, "broker-3.kafka.example.com", false, &seen));
  EXPECT_EQ(seen, "broker-3.kafka.example.com");
  // No SNI is sent for an IP address.
  EXPECT_TRUE(exchange(**server, **client, "127.0.0.1", true, &seen));
  EXPECT_EQ(seen, std::nullopt);
}

TEST_F(TlsContextTest, UntrustedServerIsRefused) {
  auto server = make_server_context(server_config());
  auto client = make_client_context(client_config("other-ca.pem"));
  ASSERT_TRUE(server.ok() && client.ok());
  EXPECT_FALSE(exchange(**server, **client, "localhost"));
}

TEST_F(TlsContextTest, ClientCertificateRequiredWhenAClientCaIsSet) {
  auto server = make_server_context(server_config(/*require_client_cert=*/true));
  auto without = make_client_context(client_config());
  auto with = make_client_context(client_config("ca.pem", /*with_cert=*/true));
  ASSERT_TRUE(server.ok() && without.ok() && with.ok());
  EXPECT_FALSE(exchange(**server, **without, "localhost"));
  EXPECT_TRUE(exchange(**server, **with, "localhost"));
}

TEST_F(TlsContextTest, Tls11ClientIsRefused) {
  auto server = make_server_context(server_config());
  ASSERT_TRUE(server.ok());
  asio::ssl::context old_client(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(old_client.native_handle(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(old_client.native_handle(), TLS1_1_VERSION);
  SSL_CTX_set_security_level(old_client.native_handle(), 0);  // let it even try
  old_client.load_verify_file(file("ca.pem"));
  old_client.set_verify_mode(asio::ssl::verify_peer);
  EXPECT_FALSE(exchange(**server, old_client, "localhost"));
}

TEST_F(TlsContextTest, BadFilesAreErrorValuesNamingTheFile) {
  auto missing =
      make_server_context(config::DownstreamTls{"/nonexistent/cert.pem", file("server.key"), ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/cert.pem"), std::string::npos);
  // A key that belongs to another certificate.
  auto mismatch =
      make_server_context(config::DownstreamTls{file("server.pem"), file("client.key"), ""});
  ASSERT_FALSE(mismatch.ok());
  // OpenSSL already refuses the key when it is loaded ("key values mismatch").
  EXPECT_NE(mismatch.error().message.find(file("client.key")), std::string::npos)
      << mismatch.error().message;
  EXPECT_NE(mismatch.error().message.find("mismatch"), std::string::npos)
      << mismatch.error().message;
  auto bad_trust = make_client_context(config::UpstreamTls{file("server.key"), "", "", true});
  ASSERT_FALSE(bad_trust.ok());
  EXPECT_NE(bad_trust.error().message.find("trust store"), std::string::npos);
}

}  // namespace
}  // namespace kenc::proxy::tls
