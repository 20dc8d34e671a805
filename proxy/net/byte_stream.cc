#include "proxy/net/byte_stream.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace kenc::proxy {

namespace {
constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);
}

asio::awaitable<std::error_code> ByteStream::handshake(
    asio::ssl::stream_base::handshake_type type) {
  if (!tls_) {
    co_return std::error_code{};
  }
  auto [ec] = co_await tls_->async_handshake(type, kAsTuple);
  co_return ec;
}

asio::awaitable<std::tuple<std::error_code, size_t>> ByteStream::read_some(
    std::span<uint8_t> buffer) {
  auto b = asio::buffer(buffer.data(), buffer.size());
  if (tls_) {
    co_return co_await tls_->async_read_some(b, kAsTuple);
  }
  co_return co_await plain_->async_read_some(b, kAsTuple);
}

asio::awaitable<std::tuple<std::error_code, size_t>> ByteStream::write_all(
    const std::vector<asio::const_buffer>& buffers) {
  if (tls_) {
    co_return co_await asio::async_write(*tls_, buffers, kAsTuple);
  }
  co_return co_await asio::async_write(*plain_, buffers, kAsTuple);
}

void ByteStream::close() {
  std::error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
}

}  // namespace kenc::proxy
