#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <tuple>
#include <vector>

namespace kenc::proxy {

// A connected byte stream, plain TCP or TLS over TCP, so the connection logic is written once.
// Operations report errors as values (no exceptions on the data path).
class ByteStream {
 public:
  explicit ByteStream(asio::ip::tcp::socket socket) : plain_(std::move(socket)) {}
  ByteStream(asio::ip::tcp::socket socket, asio::ssl::context& tls)
      : tls_(std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(socket), tls)) {}

  bool is_tls() const { return tls_ != nullptr; }
  asio::ip::tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  // The TLS stream, for SNI and verification set-up before the handshake. Null when plain.
  asio::ssl::stream<asio::ip::tcp::socket>* tls() { return tls_.get(); }

  // No-op for plain TCP.
  asio::awaitable<std::error_code> handshake(asio::ssl::stream_base::handshake_type type);
  asio::awaitable<std::tuple<std::error_code, size_t>> read_some(std::span<uint8_t> buffer);
  asio::awaitable<std::tuple<std::error_code, size_t>> write_all(
      const std::vector<asio::const_buffer>& buffers);
  // Closes the socket; pending operations complete with an error.
  void close();

 private:
  std::optional<asio::ip::tcp::socket> plain_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls_;
};

}  // namespace kenc::proxy
