#include "proxy/net/connection.h"

#include <fcntl.h>
#include <glog/logging.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/use_awaitable.hpp>

#include "proxy/net/connection_tracker.h"
#include "proxy/net/produce_acks.h"
#include "proxy/ops/proxy_metrics.h"

namespace kenc::proxy {

namespace {

constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);
// Read granularity. Frames larger than this are assembled across reads.
constexpr size_t kReadBufferBytes = size_t{64} * 1024;
// A frame with at least this many bytes still to come is read straight into its own buffer.
constexpr size_t kDirectReadMinBytes = size_t{16} * 1024;
// At most this many frames go out in one gathered write.
constexpr size_t kMaxFramesPerWrite = 64;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Asio does not open sockets close-on-exec; without it a child process started by the host
// program (tests start clients) would inherit, and keep open, the proxy's connections.
void set_close_on_exec(asio::ip::tcp::socket& socket) {
  const int fd = socket.native_handle();
  ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

bool is_ip_address(const std::string& host) {
  std::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

std::shared_ptr<Connection> Connection::create(asio::ip::tcp::socket client,
                                               asio::ssl::context* client_tls,
                                               std::shared_ptr<const ConnectionEnv> env) {
  auto executor = client.get_executor();
  std::error_code ignored;
  client.set_option(asio::ip::tcp::no_delay(true), ignored);
  set_close_on_exec(client);
  ByteStream stream = client_tls != nullptr ? ByteStream(std::move(client), *client_tls)
                                            : ByteStream(std::move(client));
  auto connection = std::make_shared<Connection>(std::move(stream), std::move(env), executor);
  if (connection->env_->metrics != nullptr) {
    connection->env_->metrics->connection_opened();
  }
  if (connection->env_->tracker != nullptr) {
    connection->env_->tracker->add(connection);
  }
  return connection;
}

Connection::Connection(ByteStream client, std::shared_ptr<const ConnectionEnv> env,
                       const asio::any_io_executor& executor)
    : env_(std::move(env)),
      executor_(executor),
      client_(std::move(client)),
      last_activity_(std::chrono::steady_clock::now()),
      inflight_(env_->limits.max_inflight_requests),
      upstream_queue_changed_(executor),
      upstream_queue_space_(executor),
      inflight_ready_(executor),
      inflight_space_(executor),
      response_space_(executor),
      idle_timer_(executor) {}

Connection::~Connection() {
  if (env_->metrics != nullptr) {
    env_->metrics->connection_closed();
  }
  if (env_->tracker != nullptr) {
    env_->tracker->remove(this);
  }
}

void Connection::start() {
  auto self = shared_from_this();
  asio::co_spawn(executor_, run(), [self](const std::exception_ptr& e) {
    if (e) {
      self->close("unexpected exception while connecting");
    }
  });
}

void Connection::close_from_any_thread() {
  asio::post(executor_, [self = shared_from_this()] { self->close("proxy shutting down"); });
}

void Connection::close(const std::string& reason) {
  if (closed_) {
    return;
  }
  closed_ = true;
  VLOG(1) << "connection closed (" << env_->virtual_cluster << "): " << reason;
  client_.close();
  if (upstream_) {
    upstream_->close();
  }
  upstream_queue_changed_.notify();
  upstream_queue_space_.notify();
  inflight_ready_.notify();
  inflight_space_.notify();
  response_space_.notify();
  idle_timer_.cancel();
  for (auto& own : own_requests_) {
    own->response = make_error(ErrorCode::kUnavailable, "connection closed: " + reason);
    own->done.notify();
  }
  own_requests_.clear();
}

asio::awaitable<Result<Frame>> Connection::send(Frame request) {
  auto self = shared_from_this();
  if (closed_ || !upstream_) {
    co_return make_error(ErrorCode::kUnavailable, "the connection to the broker is closed");
  }
  // size (4) + api_key (2) + api_version (2), then the correlation id.
  constexpr size_t kCorrelationOffset = kafka::kFrameSizeBytes + 4;
  if (request.bytes.size() < kCorrelationOffset + 4) {
    co_return make_error(ErrorCode::kInvalidArgument, "a request of the proxy's own is too short");
  }
  // An id no request awaiting the broker uses. Responses are matched by position anyway (a
  // broker answers in order); distinct ids keep a mismatch detectable and logs unambiguous.
  int32_t id = next_own_correlation_id_++;
  while (inflight_.awaits_correlation_id(id)) {
    id = next_own_correlation_id_++;
  }
  const auto uid = static_cast<uint32_t>(id);
  request.bytes[kCorrelationOffset] = static_cast<uint8_t>(uid >> 24);
  request.bytes[kCorrelationOffset + 1] = static_cast<uint8_t>(uid >> 16);
  request.bytes[kCorrelationOffset + 2] = static_cast<uint8_t>(uid >> 8);
  request.bytes[kCorrelationOffset + 3] = static_cast<uint8_t>(uid);
  auto own = std::make_shared<OwnRequest>(executor_);
  own_requests_.push_back(own);
  inflight_.push_own(id);
  upstream_queued_bytes_ += request.bytes.size();
  upstream_queue_.push_back(std::move(request));
  upstream_queue_changed_.notify();
  while (!own->response) {
    co_await own->done.wait();
  }
  co_return std::move(*own->response);
}

asio::awaitable<void> Connection::run() {
  auto self = shared_from_this();
  asio::co_spawn(executor_, idle_watchdog(), asio::detached);
  if (auto ec = co_await client_.handshake(asio::ssl::stream_base::server)) {
    close("client TLS handshake failed: " + ec.message());
    co_return;
  }
  if (!co_await connect_upstream()) {
    co_return;
  }
  auto on_exit = [self](const std::exception_ptr& e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        self->close(std::string("exception: ") + ex.what());
      } catch (...) {
        self->close("unknown exception");
      }
    }
  };
  asio::co_spawn(executor_, client_reader(), on_exit);
  asio::co_spawn(executor_, upstream_writer(), on_exit);
  asio::co_spawn(executor_, upstream_reader(), on_exit);
  asio::co_spawn(executor_, client_writer(), on_exit);
}

asio::awaitable<bool> Connection::connect_upstream() {
  using namespace asio::experimental::awaitable_operators;
  asio::ip::tcp::resolver resolver(executor_);
  std::string last_error = "no upstream bootstrap servers";
  // Plain statements, not `?:` around co_await: GCC 12 destroys such a temporary twice.
  std::vector<HostPort> servers = env_->upstream.servers;
  if (env_->upstream.resolve) {
    servers = co_await env_->upstream.resolve();
  } else if (env_->upstream.resolve_by_name) {
    std::string server_name;
    if (auto* tls = client_.tls()) {
      if (const char* name = SSL_get_servername(tls->native_handle(), TLSEXT_NAMETYPE_host_name)) {
        server_name = name;
      }
    }
    servers = co_await env_->upstream.resolve_by_name(std::move(server_name));
  }
  for (const HostPort& server : servers) {
    auto [rec, endpoints] =
        co_await resolver.async_resolve(server.host, std::to_string(server.port), kAsTuple);
    if (rec) {
      last_error = server.to_string() + ": " + rec.message();
      continue;
    }
    for (const auto& entry : endpoints) {
      std::error_code ec_open;
      if (closed_) {
        co_return false;
      }
      asio::ip::tcp::socket socket(executor_);
      socket.open(entry.endpoint().protocol(), ec_open);
      if (ec_open) {
        last_error = server.to_string() + ": " + ec_open.message();
        continue;
      }
      set_close_on_exec(socket);
      asio::steady_timer timeout(executor_, env_->limits.connect_timeout);
      auto outcome = co_await (socket.async_connect(entry.endpoint(), kAsTuple) ||
                               timeout.async_wait(kAsTuple));
      std::error_code ec;
      if (outcome.index() == 0) {
        ec = std::get<0>(std::get<0>(outcome));
      } else {
        ec = asio::error::timed_out;
      }
      if (ec) {
        last_error = server.to_string() + ": " + ec.message();
        continue;
      }
      std::error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      if (env_->upstream.tls == nullptr) {
        upstream_ = std::make_unique<ByteStream>(std::move(socket));
      } else {
        upstream_ = std::make_unique<ByteStream>(std::move(socket), *env_->upstream.tls);
        auto* tls = upstream_->tls();
        if (!is_ip_address(server.host)) {
          // SSL_set_tlsext_host_name without its C cast.
          SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                   const_cast<char*>(server.host.c_str()));
        }
        tls->set_verify_mode(asio::ssl::verify_peer);
        if (env_->upstream.verify_hostname) {
          tls->set_verify_callback(asio::ssl::host_name_verification(server.host));
        }
        if (auto hec = co_await upstream_->handshake(asio::ssl::stream_base::client)) {
          last_error = server.to_string() + ": TLS handshake: " + hec.message();
          upstream_.reset();
          continue;
        }
      }
      if (closed_) {
        upstream_->close();
        co_return false;
      }
      touch();
      co_return true;
    }
  }
  LOG(WARNING) << "virtual cluster " << env_->virtual_cluster
               << ": cannot reach any upstream broker; last error: " << last_error;
  close("upstream unreachable");
  co_return false;
}

asio::awaitable<std::optional<Frame>> Connection::read_frame(ByteStream& stream,
                                                             FrameReader& reader,
                                                             std::vector<uint8_t>& buffer,
                                                             size_t& begin, size_t& end,
                                                             bool from_client) {
  for (;;) {
    if (begin < end) {
      auto used = reader.consume(std::span<const uint8_t>(buffer).subspan(begin, end - begin));
      if (!used.ok()) {
        close(std::string(from_client ? "client" : "broker") +
              " sent a bad frame: " + used.error().to_string());
        co_return std::nullopt;
      }
      begin += *used;
      if (auto frame = reader.take()) {
        co_return frame;
      }
    }
    if (closed_) {
      co_return std::nullopt;
    }
    // The rest of a large frame goes from the socket straight into the frame's own buffer
    // (fetch responses and produce requests are mostly that), not through `buffer`.
    std::span<uint8_t> target = reader.unfilled();
    const bool direct = target.size() >= kDirectReadMinBytes;
    if (!direct) {
      target = std::span<uint8_t>(buffer);
    }
    auto [ec, n] = co_await stream.read_some(target);
    if (from_client && !closed_ && !reader.mid_frame() &&
        (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)) {
      client_eof_ = true;
      finish_if_client_done();
      co_return std::nullopt;
    }
    if (ec || closed_) {
      close(std::string(from_client ? "client" : "broker") +
            (ec ? " read: " + ec.message() : std::string(" closed")));
      co_return std::nullopt;
    }
    touch();
    if (from_client && env_->metrics != nullptr) {
      env_->metrics->bytes_from_client(n);
    }
    if (direct) {
      reader.filled(n);
      if (auto frame = reader.take()) {
        co_return frame;
      }
      continue;
    }
    begin = 0;
    end = n;
  }
}

asio::awaitable<void> Connection::client_reader() {
  auto self = shared_from_this();
  FrameReader reader(env_->limits.max_frame_bytes);
  std::vector<uint8_t> buffer(kReadBufferBytes);
  size_t begin = 0;
  size_t end = 0;
  const size_t queue_cap = std::max<size_t>(env_->limits.upstream_queue_frames, 1);
  while (!closed_) {
    // Backpressure: read nothing more while either queue is full. The client's bytes then
    // stay in the kernel, and TCP flow control stops the client.
    while (!closed_ && (inflight_.full() || upstream_queue_.size() >= queue_cap ||
                        upstream_queued_bytes_ >= env_->limits.max_queued_bytes)) {
      if (inflight_.full()) {
        co_await inflight_space_.wait();
      } else {
        co_await upstream_queue_space_.wait();
      }
    }
    if (closed_) {
      co_return;
    }
    auto frame = co_await read_frame(client_, reader, buffer, begin, end, true);
    if (!frame) {
      co_return;
    }
    auto header = kafka::peek_request_header(frame->payload());
    if (!header.ok()) {
      close("client sent a bad request header: " + header.error().to_string());
      co_return;
    }
    if (env_->metrics != nullptr) {
      env_->metrics->request(header->api_key);
    }
    InFlightRequest info{header->api_key, header->api_version, header->correlation_id,
                         std::chrono::steady_clock::now()};
    bool expects_response = true;
    if (header->api_key == kProduceApiKey) {
      auto acks = peek_produce_acks(frame->payload(), header->api_version);
      if (!acks.ok()) {
        if (env_->metrics != nullptr) {
          env_->metrics->error(header->api_key);
        }
        close("client sent a bad produce request: " + acks.error().to_string());
        co_return;
      }
      expects_response = *acks != 0;
    }
    if (env_->filters->handles_request(info.api_key, info.api_version)) {
      info.filter_state = std::make_shared<RequestState>();
      RequestContext context{info.api_key,          info.api_version, info.correlation_id,
                             env_->virtual_cluster, executor_,        info.filter_state};
      context.upstream = this;
      context.connection_state = &filter_state_;
      context.upstream_handle = weak_from_this();
      const auto filter_start = std::chrono::steady_clock::now();
      RequestVerdict verdict = co_await env_->filters->on_request(context, std::move(*frame));
      if (closed_) {
        co_return;
      }
      if (env_->metrics != nullptr) {
        env_->metrics->filter_seconds(info.api_key, FilterStage::kRequest,
                                      seconds_since(filter_start));
      }
      if (auto* answer = std::get_if<AnswerRequest>(&verdict)) {
        if (expects_response) {
          inflight_.push_answered(info, std::move(answer->response));
          inflight_ready_.notify();
        }
        continue;
      }
      frame = std::move(std::get<ForwardRequest>(verdict).request);
    }
    if (expects_response) {
      inflight_.push_forwarded(info);
    }
    upstream_queued_bytes_ += frame->bytes.size();
    upstream_queue_.push_back(std::move(*frame));
    upstream_queue_changed_.notify();
  }
}

asio::awaitable<void> Connection::upstream_writer() {
  auto self = shared_from_this();
  std::vector<Frame> batch;
  std::vector<asio::const_buffer> buffers;
  while (!closed_) {
    while (!closed_ && upstream_queue_.empty()) {
      co_await upstream_queue_changed_.wait();
    }
    if (closed_) {
      co_return;
    }
    batch.clear();
    buffers.clear();
    while (!upstream_queue_.empty() && batch.size() < kMaxFramesPerWrite) {
      batch.push_back(std::move(upstream_queue_.front()));
      upstream_queue_.pop_front();
      buffers.emplace_back(asio::buffer(batch.back().bytes.data(), batch.back().bytes.size()));
    }
    writing_upstream_ = true;
    auto [ec, n] = co_await upstream_->write_all(buffers);
    writing_upstream_ = false;
    if (ec) {
      close("broker write: " + ec.message());
      co_return;
    }
    touch();
    // Only now are the frames' bytes gone; let the reader take more.
    for (const auto& written : batch) {
      upstream_queued_bytes_ -= written.bytes.size();
    }
    batch.clear();  // a flood of large requests must not keep a written batch alive
    upstream_queue_space_.notify();
    finish_if_client_done();
  }
}

asio::awaitable<void> Connection::upstream_reader() {
  auto self = shared_from_this();
  FrameReader reader(env_->limits.max_frame_bytes, FrameReader::Sizing::kDeclaredSize);
  std::vector<uint8_t> buffer(kReadBufferBytes);
  size_t begin = 0;
  size_t end = 0;
  while (!closed_) {
    // Backpressure towards the broker: read no more responses while the client has not taken
    // max_queued_bytes of them, as long as the client writer can make progress without this
    // reader (the oldest response is ready, or a write is under way). When the oldest slot still
    // waits for its broker response, reading goes on (bounded by max_inflight_requests), else
    // the connection would wait for itself.
    while (!closed_ &&
           inflight_.response_bytes() + client_writing_bytes_ >= env_->limits.max_queued_bytes &&
           (inflight_.head_ready() || client_writing_bytes_ > 0)) {
      co_await response_space_.wait();
    }
    if (closed_) {
      co_return;
    }
    auto frame = co_await read_frame(*upstream_, reader, buffer, begin, end, false);
    if (!frame) {
      co_return;
    }
    auto correlation_id = kafka::peek_response_correlation_id(frame->payload());
    if (!correlation_id.ok()) {
      close("broker sent a bad response: " + correlation_id.error().to_string());
      co_return;
    }
    if (inflight_.next_response_is_own()) {
      if (auto matched = inflight_.match_own_response(*correlation_id); !matched.ok()) {
        close(matched.error().to_string());
        co_return;
      }
      auto own = std::move(own_requests_.front());
      own_requests_.pop_front();
      own->response = std::move(*frame);
      own->done.notify();
      continue;
    }
    auto seq = inflight_.match_broker_response(*correlation_id);
    if (!seq.ok()) {
      close(seq.error().to_string());
      co_return;
    }
    const InFlightRequest& request = inflight_.request(*seq);
    if (env_->filters->handles_response(request.api_key, request.api_version)) {
      // Filtered concurrently: a slow response filter must not hold up the responses behind
      // it from being read (they wait in their slots for it, in order).
      asio::co_spawn(executor_, filter_response(*seq, std::move(*frame)),
                     [self](const std::exception_ptr& e) {
                       if (e) {
                         self->close("response filter failed");
                       }
                     });
    } else {
      inflight_.complete(*seq, std::move(*frame));
      inflight_ready_.notify();
    }
  }
}

asio::awaitable<void> Connection::filter_response(InFlightQueue::Sequence seq, Frame response) {
  auto self = shared_from_this();
  const InFlightRequest request = inflight_.request(seq);
  RequestContext context{request.api_key,       request.api_version, request.correlation_id,
                         env_->virtual_cluster, executor_,           request.filter_state};
  context.upstream = this;
  context.connection_state = &filter_state_;
  context.upstream_handle = weak_from_this();
  const auto filter_start = std::chrono::steady_clock::now();
  Frame filtered = co_await env_->filters->on_response(context, std::move(response));
  if (closed_) {
    co_return;
  }
  if (env_->metrics != nullptr) {
    env_->metrics->filter_seconds(request.api_key, FilterStage::kResponse,
                                  seconds_since(filter_start));
  }
  inflight_.complete(seq, std::move(filtered));
  inflight_ready_.notify();
}

asio::awaitable<void> Connection::client_writer() {
  auto self = shared_from_this();
  std::vector<Frame> batch;
  std::vector<asio::const_buffer> buffers;
  while (!closed_) {
    while (!closed_ && !inflight_.head_ready()) {
      co_await inflight_ready_.wait();
    }
    if (closed_) {
      co_return;
    }
    batch.clear();
    buffers.clear();
    const auto now = std::chrono::steady_clock::now();
    size_t bytes = 0;
    while (inflight_.head_ready() && batch.size() < kMaxFramesPerWrite) {
      if (env_->metrics != nullptr) {
        env_->metrics->latency_seconds(
            std::chrono::duration<double>(now - inflight_.head_request().received_at).count());
      }
      batch.push_back(inflight_.pop_head());
      bytes += batch.back().bytes.size();
      buffers.emplace_back(asio::buffer(batch.back().bytes.data(), batch.back().bytes.size()));
    }
    client_writing_bytes_ = bytes;
    auto [ec, n] = co_await client_.write_all(buffers);
    // The batch's buffers are freed only when the next batch is taken: freeing a response of a
    // few MiB before the next one is read lets the allocator return the memory to the kernel and
    // fault it in again for the next response, which doubled the proxy's CPU per byte fetched.
    client_writing_bytes_ = 0;
    response_space_.notify();
    if (ec) {
      close("client write: " + ec.message());
      co_return;
    }
    touch();
    if (env_->metrics != nullptr) {
      env_->metrics->bytes_to_client(bytes);
    }
    inflight_space_.notify();
    finish_if_client_done();
  }
}

void Connection::finish_if_client_done() {
  if (client_eof_ && upstream_queue_.empty() && !writing_upstream_ && inflight_.empty()) {
    close("client closed its end");
  }
}

asio::awaitable<void> Connection::idle_watchdog() {
  auto self = shared_from_this();
  const auto idle = env_->limits.idle_timeout;
  if (idle.count() <= 0) {
    co_return;
  }
  while (!closed_) {
    idle_timer_.expires_at(last_activity_ + idle);
    co_await idle_timer_.async_wait(kAsTuple);
    if (closed_) {
      co_return;
    }
    if (std::chrono::steady_clock::now() - last_activity_ >= idle) {
      close("idle timeout");
      co_return;
    }
  }
}

}  // namespace kenc::proxy
