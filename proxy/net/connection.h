#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/kafka/frame.h"
#include "proxy/filter/filter_chain.h"
#include "proxy/filter/upstream_channel.h"
#include "proxy/net/byte_stream.h"
#include "proxy/net/frame_reader.h"
#include "proxy/net/host_port.h"
#include "proxy/net/inflight_queue.h"
#include "proxy/net/notifier.h"

namespace kenc::proxy {

class ProxyMetrics;
class ConnectionTracker;

struct ConnectionLimits {
  int32_t max_frame_bytes = kafka::kDefaultMaxFrameBytes;
  // Requests awaiting their response (per connection). When reached, the proxy stops reading
  // from the client until the client has taken responses: a client that does not read cannot
  // make the proxy buffer without bound.
  size_t max_inflight_requests = 128;
  // Frames read from the client but not yet written to the broker. When reached, the proxy
  // stops reading from the client, so a slow broker pushes back on the client through TCP.
  size_t upstream_queue_frames = 64;
  // Bytes per connection and direction waiting to be written to the other side: requests read
  // from the client and not yet written to the broker, responses read from the broker (or made
  // by a filter) and not yet written to the client. When reached, the proxy stops reading from
  // the side that sends them, so memory per connection stays near this figure (plus one frame
  // per direction) whatever the frame sizes.
  size_t max_queued_bytes = size_t{8} * 1024 * 1024;
  // A connection with no traffic in either direction for this long is closed. Zero: never.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
};

// Where and how a connection reaches its broker.
struct UpstreamTarget {
  std::vector<HostPort> servers;  // tried in order until one accepts
  // When set, asked at connect time for the servers to try instead of `servers`: a per-broker
  // listener resolves its broker's current address (which it may have to discover first).
  std::function<asio::awaitable<std::vector<HostPort>>()> resolve;
  // SNI routing: when set (and `resolve` is not), asked with the TLS server name the client
  // sent (empty: none) for the servers to try; one TLS port then fronts every broker.
  std::function<asio::awaitable<std::vector<HostPort>>(std::string server_name)> resolve_by_name;
  asio::ssl::context* tls = nullptr;  // null: plain TCP
  bool verify_hostname = true;        // with TLS: the certificate must name the host
};

// Everything a connection shares with its virtual cluster. Outlives every connection.
struct ConnectionEnv {
  std::string virtual_cluster;
  UpstreamTarget upstream;
  std::shared_ptr<const FilterChain> filters = std::make_shared<FilterChain>();
  ConnectionLimits limits;
  ProxyMetrics* metrics = nullptr;       // optional
  ConnectionTracker* tracker = nullptr;  // optional
};

// One client connection and its broker connection, pinned to one worker thread.
//
//   client ─▶ client_reader ─▶ [upstream queue] ─▶ upstream_writer ─▶ broker
//   client ◀─ client_writer ◀─ [in-flight FIFO] ◀─ upstream_reader ◀─ broker
//
// Four coroutines on the worker's executor; either side failing or closing closes both.
// Requests are forwarded as their original bytes unless a filter handles their API key and
// version. Responses leave in request order. acks=0 Produce requests get no slot in the
// in-flight FIFO, because the broker sends no response to them.
class Connection : public std::enable_shared_from_this<Connection>, public UpstreamChannel {
 public:
  // `client` must already be bound to the worker's executor. `client_tls` (null: plain) is the
  // server-side TLS context for the client side.
  static std::shared_ptr<Connection> create(asio::ip::tcp::socket client,
                                            asio::ssl::context* client_tls,
                                            std::shared_ptr<const ConnectionEnv> env);
  ~Connection() override;

  // Starts the connection's coroutines (call once).
  void start();
  // Closes both sides; safe to call from any thread (it posts to the connection's executor).
  void close_from_any_thread();
  bool closed() const { return closed_; }

  // UpstreamChannel: a filter's own request on this connection's upstream.
  asio::awaitable<Result<Frame>> send(Frame request) override;

  Connection(ByteStream client, std::shared_ptr<const ConnectionEnv> env,
             const asio::any_io_executor& executor);

 private:
  asio::awaitable<void> run();
  asio::awaitable<bool> connect_upstream();
  asio::awaitable<std::optional<Frame>> read_frame(ByteStream& stream, FrameReader& reader,
                                                   std::vector<uint8_t>& buffer, size_t& begin,
                                                   size_t& end, bool from_client);
  asio::awaitable<void> client_reader();
  asio::awaitable<void> upstream_writer();
  asio::awaitable<void> upstream_reader();
  asio::awaitable<void> client_writer();
  asio::awaitable<void> idle_watchdog();
  asio::awaitable<void> filter_response(InFlightQueue::Sequence seq, Frame response);
  void close(const std::string& reason);
  // After the client's end of stream: closes once every request read has been written to the
  // broker and every response owed has been written to the client (a client may half-close
  // and still read; acks=0 produce requests sent just before closing must not be lost).
  void finish_if_client_done();
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }

  std::shared_ptr<const ConnectionEnv> env_;
  asio::any_io_executor executor_;
  ByteStream client_;
  std::unique_ptr<ByteStream> upstream_;
  bool closed_ = false;
  bool client_eof_ = false;
  bool writing_upstream_ = false;
  size_t upstream_queued_bytes_ = 0;  // frames in upstream_queue_ and the batch being written
  size_t client_writing_bytes_ = 0;   // responses taken from inflight_, being written
  std::chrono::steady_clock::time_point last_activity_;

  // A request of a filter's own awaiting its response (UpstreamChannel::send), oldest first.
  struct OwnRequest {
    explicit OwnRequest(const asio::any_io_executor& executor) : done(executor) {}
    std::optional<Result<Frame>> response;
    Notifier done;
  };
  std::deque<std::shared_ptr<OwnRequest>> own_requests_;
  int32_t next_own_correlation_id_ = std::numeric_limits<int32_t>::min();

  RequestState filter_state_;  // the filters' state for the connection's lifetime
  std::deque<Frame> upstream_queue_;
  InFlightQueue inflight_;
  Notifier upstream_queue_changed_;  // wakes the upstream writer (frames) and client reader (space)
  Notifier upstream_queue_space_;
  Notifier inflight_ready_;  // wakes the client writer
  Notifier inflight_space_;  // wakes the client reader
  Notifier response_space_;  // wakes the upstream reader (the client took responses)
  asio::steady_timer idle_timer_;
};

}  // namespace kenc::proxy
