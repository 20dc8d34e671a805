// The proxy's data path against a fake broker on local sockets: byte-exact pass-through,
// in-order responses with out-of-order filters, acks=0, local answers, backpressure, limits.
#include <gtest/gtest.h>

#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <thread>

#include "proxy/filter/filter.h"
#include "proxy/net/connection_tracker.h"
#include "proxy/net/listener.h"
#include "proxy/net/worker_pool.h"
#include "tests/unit/proxy/test_sockets.h"

namespace kenc::proxy {
namespace {

using namespace kenc::proxy::testing;
using namespace std::chrono_literals;

constexpr int16_t kApiVersions = 18;

int32_t correlation_of_response(const std::vector<uint8_t>& frame) { return get32(&frame[4]); }

// A proxy in front of one fake broker, on 127.0.0.1 with a free port.
struct Proxy {
  Proxy(uint16_t broker_port, ConnectionLimits limits,
        std::vector<std::shared_ptr<Filter>> filters = {}, size_t threads = 2)
      : workers(threads) {
    auto e = std::make_shared<ConnectionEnv>();
    e->virtual_cluster = "test";
    e->upstream.servers = {HostPort{"127.0.0.1", broker_port}};
    e->filters = std::make_shared<FilterChain>(std::move(filters));
    e->limits = limits;
    e->tracker = &tracker;
    env = e;
    listener = std::make_unique<Listener>(workers, env, nullptr);
    auto status = listener->start(HostPort{"127.0.0.1", 0});
    if (!status.ok()) {
      throw std::runtime_error(status.error().to_string());
    }
  }
  ~Proxy() {
    listener->stop();
    tracker.close_all();
    workers.stop();
  }
  uint16_t port() const { return listener->port(); }

  // Declared before the workers: connections still queued on a worker unregister from it when
  // the worker's io_context is destroyed.
  ConnectionTracker tracker;
  WorkerPool workers;
  std::shared_ptr<const ConnectionEnv> env;
  std::unique_ptr<Listener> listener;
};

TEST(Connection, ForwardsRequestsAndResponsesByteForByte) {
  FakeBroker broker(answer_with({0xca, 0xfe}));
  Proxy proxy(broker.port(), {});
  Fd client = connect_loopback(proxy.port());
  std::vector<std::vector<uint8_t>> sent;
  for (int32_t i = 0; i < 20; ++i) {
    sent.push_back(request_frame(static_cast<int16_t>(1 + i % 69), 3, 1000 + i,
                                 std::vector<uint8_t>(static_cast<size_t>(i * 37), 0x5a)));
    ASSERT_TRUE(write_all(client.get(), sent.back()));
  }
  for (int32_t i = 0; i < 20; ++i) {
    auto response = read_frame(client.get());
    ASSERT_TRUE(response.has_value()) << "response " << i;
    EXPECT_EQ(*response, response_frame(1000 + i, {0xca, 0xfe}));
  }
  EXPECT_EQ(broker.received(), sent) << "requests must reach the broker as their original bytes";
}

TEST(Connection, DeliversFramesSplitIntoSingleBytes) {
  FakeBroker broker(answer_with({1}));
  Proxy proxy(broker.port(), {});
  Fd client = connect_loopback(proxy.port());
  auto frame = request_frame(kApiVersions, 0, 42, {7, 7, 7});
  for (uint8_t byte : frame) {
    ASSERT_TRUE(write_all(client.get(), {byte}));
    std::this_thread::sleep_for(1ms);
  }
  auto response = read_frame(client.get());
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(correlation_of_response(*response), 42);
  EXPECT_EQ(broker.received().at(0), frame);
}

// Delays each response: earlier requests finish later, so completion is out of order.
class ReverseDelayFilter : public Filter {
 public:
  std::string_view name() const override { return "reverse-delay"; }
  bool handles_request(int16_t, int16_t) const override { return false; }
  bool handles_response(int16_t api_key, int16_t) const override { return api_key == kApiVersions; }
  asio::awaitable<RequestVerdict> on_request(const RequestContext&, Frame request) override {
    co_return ForwardRequest{std::move(request)};
  }
  asio::awaitable<Frame> on_response(const RequestContext& context, Frame response) override {
    asio::steady_timer timer(context.executor, (10 - context.correlation_id % 10) * 30ms);
    co_await timer.async_wait(asio::use_awaitable);
    finished_order.push_back(context.correlation_id);  // one connection: one thread
    co_return response;
  }
  std::vector<int32_t> finished_order;
};

TEST(Connection, ResponsesLeaveInRequestOrderWhenFiltersFinishOutOfOrder) {
  FakeBroker broker(answer_with({}));
  auto filter = std::make_shared<ReverseDelayFilter>();
  Proxy proxy(broker.port(), {}, {filter});
  Fd client = connect_loopback(proxy.port());
  for (int32_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(write_all(client.get(), request_frame(kApiVersions, 0, i)));
  }
  for (int32_t i = 0; i < 10; ++i) {
    auto response = read_frame(client.get());
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(correlation_of_response(*response), i);
  }
  // The filter really did finish them out of order (latest request first).
  ASSERT_EQ(filter->finished_order.size(), 10u);
  EXPECT_EQ(filter->finished_order.front(), 9);
  EXPECT_EQ(filter->finished_order.back(), 0);
}

TEST(Connection, ProduceWithAcksZeroExpectsNoResponse) {
  // Like a broker: no response to acks=0 Produce requests.
  FakeBroker broker([](const std::vector<uint8_t>& request) -> std::optional<std::vector<uint8_t>> {
    const bool produce = request[4] == 0 && request[5] == 0;
    if (produce && request[14 + 2] == 0 && request[14 + 3] == 0) {
      return std::nullopt;
    }
    return response_frame(get32(&request[8]), {});
  });
  Proxy proxy(broker.port(), {});
  Fd client = connect_loopback(proxy.port());
  ASSERT_TRUE(write_all(client.get(), request_frame(0, 3, 1, produce_body(0))));
  ASSERT_TRUE(write_all(client.get(), request_frame(0, 3, 2, produce_body(0))));
  ASSERT_TRUE(write_all(client.get(), request_frame(0, 3, 3, produce_body(1))));
  ASSERT_TRUE(write_all(client.get(), request_frame(kApiVersions, 0, 4)));
  auto first = read_frame(client.get());
  auto second = read_frame(client.get());
  ASSERT_TRUE(first.has_value() && second.has_value()) << "connection must survive acks=0";
  EXPECT_EQ(correlation_of_response(*first), 3);
  EXPECT_EQ(correlation_of_response(*second), 4);
  EXPECT_EQ(broker.received_count(), 4u) << "acks=0 requests are still forwarded";
}

// Answers requests of API key 50 itself, with an error-like body, without forwarding them.
class AnsweringFilter : public Filter {
 public:
  std::string_view name() const override { return "answering"; }
  bool handles_request(int16_t api_key, int16_t) const override { return api_key == 50; }
  bool handles_response(int16_t, int16_t) const override { return false; }
  asio::awaitable<RequestVerdict> on_request(const RequestContext& context, Frame) override {
    std::vector<uint8_t> payload;
    put32(payload, context.correlation_id);
    put16(payload, 35);  // UNSUPPORTED_VERSION
    co_return AnswerRequest{make_frame(payload)};
  }
  asio::awaitable<Frame> on_response(const RequestContext&, Frame response) override {
    co_return response;
  }
};

TEST(Connection, FilterCanAnswerInsteadOfForwardingAndOrderIsKept) {
  FakeBroker broker(answer_with({0x01}));
  Proxy proxy(broker.port(), {}, {std::make_shared<AnsweringFilter>()});
  Fd client = connect_loopback(proxy.port());
  ASSERT_TRUE(write_all(client.get(), request_frame(kApiVersions, 0, 1)));
  ASSERT_TRUE(write_all(client.get(), request_frame(50, 0, 2)));
  ASSERT_TRUE(write_all(client.get(), request_frame(kApiVersions, 0, 3)));
  std::vector<int32_t> order;
  for (int i = 0; i < 3; ++i) {
    auto response = read_frame(client.get());
    ASSERT_TRUE(response.has_value());
    order.push_back(correlation_of_response(*response));
    if (order.back() == 2) {
      EXPECT_EQ(*response, response_frame(2, {0x00, 35}));
    }
  }
  EXPECT_EQ(order, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(broker.received_count(), 2u) << "the answered request must not reach the broker";
}

// Sends a request of its own (API key 51) upstream from on_request of API key 50 requests and
// from on_response of ApiVersions, and remembers what came back.
class OwnRequestFilter : public Filter {
 public:
  std::string_view name() const override { return "own-request"; }
  bool handles_request(int16_t api_key, int16_t) const override { return api_key == 50; }
  bool handles_response(int16_t api_key, int16_t) const override { return api_key == kApiVersions; }
  asio::awaitable<RequestVerdict> on_request(const RequestContext& context,
                                             Frame request) override {
    co_await ask(context);
    co_return ForwardRequest{std::move(request)};
  }
  asio::awaitable<Frame> on_response(const RequestContext& context, Frame response) override {
    co_await ask(context);
    co_return response;
  }
  std::vector<Result<Frame>> answers;  // one connection: one thread

 private:
  asio::awaitable<void> ask(const RequestContext& context) {
    Frame own = make_frame(std::span<const uint8_t>(request_frame(51, 0, 0)).subspan(4));
    answers.push_back(co_await context.upstream->send(std::move(own)));
  }
};

TEST(Connection, FilterRequestsOfItsOwnGetTheirResponsesAndClientOrderIsKept) {
  FakeBroker broker(answer_with({0x42}));
  auto filter = std::make_shared<OwnRequestFilter>();
  Proxy proxy(broker.port(), {}, {filter});
  Fd client = connect_loopback(proxy.port());
  // Client ids that the connection would pick for its own requests (it counts from INT32_MIN).
  const int32_t ids[] = {INT32_MIN, 50, INT32_MIN + 1, 7};
  ASSERT_TRUE(write_all(client.get(), request_frame(kApiVersions, 0, ids[0])));
  ASSERT_TRUE(write_all(client.get(), request_frame(50, 0, ids[1])));
  ASSERT_TRUE(write_all(client.get(), request_frame(kApiVersions, 0, ids[2])));
  ASSERT_TRUE(write_all(client.get(), request_frame(50, 0, ids[3])));
  for (int32_t id : ids) {
    auto response = read_frame(client.get());
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(*response, response_frame(id, {0x42}));
  }
  // 4 client requests + 4 of the filter's own (2 from on_request, 2 from on_response).
  auto received = broker.received();
  ASSERT_EQ(received.size(), 8u);
  // The client above deliberately reused ids the connection picks for its own requests:
  // matching is by position, so the responses above are still the client's, and the filter
  // got the others.
  std::set<int32_t> own_ids;
  for (const auto& r : received) {
    const int16_t api_key = static_cast<int16_t>((r[4] << 8) | r[5]);
    if (api_key == 51) {
      const int32_t id = get32(&r[8]);
      own_ids.insert(id);
      EXPECT_LT(id, 0) << "own ids stay out of the range clients count in (from 0 up)";
    }
  }
  EXPECT_EQ(own_ids.size(), 4u) << "every own request has its own correlation id";
  ASSERT_EQ(filter->answers.size(), 4u);
  for (const auto& answer : filter->answers) {
    ASSERT_TRUE(answer.ok()) << answer.error().to_string();
    ASSERT_EQ(answer->bytes.size(), 9u);
    EXPECT_EQ(answer->bytes.back(), 0x42);
  }
}

TEST(Connection, FilterRequestOfItsOwnFailsWhenTheBrokerCloses) {
  // The broker swallows the filter's request and then goes away.
  FakeBroker broker([](const std::vector<uint8_t>&) -> std::optional<std::vector<uint8_t>> {
    return std::nullopt;
  });
  auto filter = std::make_shared<OwnRequestFilter>();
  Proxy proxy(broker.port(), {}, {filter});
  Fd client = connect_loopback(proxy.port());
  ASSERT_TRUE(write_all(client.get(), request_frame(50, 0, 1)));
  for (int i = 0; i < 200 && broker.received_count() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(broker.received_count(), 1u);
  broker.drop_connections();
  EXPECT_FALSE(read_frame(client.get()).has_value()) << "the client's connection closes too";
  for (int i = 0; i < 200 && proxy.tracker.count() > 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(filter->answers.size(), 1u);
  ASSERT_FALSE(filter->answers[0].ok());
  EXPECT_EQ(filter->answers[0].error().code, ErrorCode::kUnavailable);
}

// A client sends 300 requests whose responses are 1 MiB each and reads nothing for a second;
// returns how many requests reached the broker meanwhile. Then the client reads, and every
// response must arrive, in order.
size_t requests_taken_from_a_stalled_client(const ConnectionLimits& limits) {
  const std::vector<uint8_t> big(1 << 20, 0x42);
  FakeBroker broker(answer_with(big));
  Proxy proxy(broker.port(), limits);
  Fd client = connect_loopback(proxy.port());
  constexpr int kRequests = 300;
  for (int32_t i = 0; i < kRequests; ++i) {
    EXPECT_TRUE(write_all(client.get(), request_frame(kApiVersions, 0, i)));
  }
  // Give the pipeline time to fill up to its bounds.
  size_t seen = 0;
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(50ms);
    seen = broker.received_count();
  }
  for (int32_t i = 0; i < kRequests; ++i) {
    auto response = read_frame(client.get(), 20000);
    EXPECT_TRUE(response.has_value()) << "response " << i;
    if (!response) break;
    EXPECT_EQ(correlation_of_response(*response), i);
    EXPECT_EQ(response->size(), 8u + big.size());
  }
  return seen;
}

TEST(Connection, StalledClientBoundsWhatTheProxyTakesIn) {
  // Once the socket buffers toward the client are full, the proxy may hold at most
  // `max_inflight_requests` requests, so the broker must see only a bounded number of them.
  ConnectionLimits limits;
  limits.max_inflight_requests = 4;
  limits.upstream_queue_frames = 4;
  const size_t seen = requests_taken_from_a_stalled_client(limits);
  // In-flight slots + what the kernel buffers between proxy and client can hold (a few MiB
  // of 1 MiB responses) + the response the broker is blocked writing.
  EXPECT_LT(seen, 40u) << "the proxy kept reading from a client that does not read";
  EXPECT_GE(seen, 4u);
}

TEST(Connection, QueuedResponseBytesBoundWhatTheProxyTakesIn) {
  // With many in-flight slots, max_queued_bytes, not the slot count, must stop the proxy
  // reading responses the client does not take.
  ConnectionLimits limits;
  limits.max_inflight_requests = 256;
  limits.max_queued_bytes = 2 << 20;
  const size_t seen = requests_taken_from_a_stalled_client(limits);
  // 2 MiB queued + one response being written + one being read + what the kernel buffers hold
  // between proxy and client and between broker and proxy (a few MiB each). Without the byte
  // bound the proxy takes in all 256 slots' worth (measured: 261).
  EXPECT_LT(seen, 40u) << "the proxy kept reading responses past max_queued_bytes";
}

// Sends `frame` again and again without blocking until the proxy stops taking bytes (a send
// still blocks after 200 ms) and returns the bytes written; nullopt when that did not happen
// within `limit` or the connection broke. A partial send is continued, not restarted, so the
// proxy sees well-formed frames throughout.
std::optional<size_t> write_until_pushed_back(int fd, const std::vector<uint8_t>& frame,
                                              std::chrono::seconds limit) {
  size_t written = 0;
  size_t offset = 0;  // within the frame being sent
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    ssize_t n =
        ::send(fd, frame.data() + offset, frame.size() - offset, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return std::nullopt;
      std::this_thread::sleep_for(200ms);
      n = ::send(fd, frame.data() + offset, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n <= 0) {
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return std::nullopt;
        return written;  // still blocked: backpressure reached the client
      }
    }
    written += static_cast<size_t>(n);
    offset = (offset + static_cast<size_t>(n)) % frame.size();
  }
  return std::nullopt;
}

TEST(Connection, QueuedRequestBytesPushBackOnTheClient) {
  // A broker that stops reading after the first request, and large requests: the upstream
  // queue holds 64 frames by count, but max_queued_bytes must stop reading from the client
  // long before that.
  std::atomic<bool> release{false};
  FakeBroker broker([&release](const std::vector<uint8_t>&) {
    for (int i = 0; i < 3000 && !release; ++i) std::this_thread::sleep_for(10ms);
    return std::optional<std::vector<uint8_t>>{};
  });
  ConnectionLimits limits;
  limits.max_inflight_requests = 1024;
  limits.max_queued_bytes = 1 << 20;
  Proxy proxy(broker.port(), limits);
  Fd client = connect_loopback(proxy.port());
  const auto frame = request_frame(kApiVersions, 0, 1, std::vector<uint8_t>(1 << 20, 1));
  const auto written = write_until_pushed_back(client.get(), frame, 10s);
  ASSERT_TRUE(written.has_value()) << "client was never pushed back";
  // Kernel socket buffers on both sides of the proxy take a few MiB each; the proxy itself
  // holds at most about max_queued_bytes + two frames. 64 queued frames would be 64 MiB alone.
  EXPECT_LT(*written, size_t{40} << 20) << "the proxy took in far more than max_queued_bytes";
  release = true;
}

TEST(Connection, StalledBrokerBoundsWhatTheProxyTakesIn) {
  // A broker that never answers: the client keeps sending; the proxy must stop reading once
  // its in-flight bound is reached, so the client's sends eventually block (we use a
  // non-blocking probe to see that).
  FakeBroker broker(
      [](const std::vector<uint8_t>&) { return std::optional<std::vector<uint8_t>>{}; });
  ConnectionLimits limits;
  limits.max_inflight_requests = 8;
  Proxy proxy(broker.port(), limits);
  Fd client = connect_loopback(proxy.port());
  const auto frame = request_frame(kApiVersions, 0, 1, std::vector<uint8_t>(64 * 1024, 1));
  const auto written = write_until_pushed_back(client.get(), frame, 5s);
  ASSERT_TRUE(written.has_value()) << "client was never pushed back";
  std::this_thread::sleep_for(200ms);
  EXPECT_LE(broker.received_count(), 8u);
  EXPECT_GT(*written, 8 * frame.size() / 2);
}

TEST(Connection, OversizedFrameClosesTheConnection) {
  FakeBroker broker(answer_with({}));
  ConnectionLimits limits;
  limits.max_frame_bytes = 1024;
  Proxy proxy(broker.port(), limits);
  Fd client = connect_loopback(proxy.port());
  ASSERT_TRUE(
      write_all(client.get(), request_frame(kApiVersions, 0, 1, std::vector<uint8_t>(2000))));
  EXPECT_TRUE(peer_closed(client.get(), 5000));
  EXPECT_EQ(broker.received_count(), 0u);
}

TEST(Connection, IdleConnectionIsClosed) {
  FakeBroker broker(answer_with({}));
  ConnectionLimits limits;
  limits.idle_timeout = 200ms;
  Proxy proxy(broker.port(), limits);
  Fd client = connect_loopback(proxy.port());
  ASSERT_TRUE(write_all(client.get(), request_frame(kApiVersions, 0, 1)));
  ASSERT_TRUE(read_frame(client.get()).has_value());
  EXPECT_FALSE(peer_closed(client.get(), 50)) << "closed before the idle timeout";
  EXPECT_TRUE(peer_closed(client.get(), 3000));
}

TEST(Connection, BrokerClosingClosesTheClient) {
  FakeBroker broker(answer_with({}));
  Proxy proxy(broker.port(), {});
  Fd client = connect_loopback(proxy.port());
  ASSERT_TRUE(write_all(client.get(), request_frame(kApiVersions, 0, 1)));
  ASSERT_TRUE(read_frame(client.get()).has_value());
  broker.drop_connections();
  EXPECT_TRUE(peer_closed(client.get(), 5000));
}

TEST(Connection, ClientClosingClosesTheBrokerConnection) {
  FakeBroker broker(answer_with({}));
  Proxy proxy(broker.port(), {});
  {
    Fd client = connect_loopback(proxy.port());
    ASSERT_TRUE(write_all(client.get(), request_frame(kApiVersions, 0, 1)));
    ASSERT_TRUE(read_frame(client.get()).has_value());
    EXPECT_EQ(proxy.tracker.count(), 1u);
  }
  for (int i = 0; i < 100 && proxy.tracker.count() != 0; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(proxy.tracker.count(), 0u);
}

TEST(Connection, RequestsSentJustBeforeTheClientClosesStillReachTheBroker) {
  // acks=0 produce: the client writes and closes at once, expecting nothing back.
  FakeBroker broker(
      [](const std::vector<uint8_t>&) { return std::optional<std::vector<uint8_t>>{}; });
  ConnectionLimits limits;
  limits.upstream_queue_frames = 2;
  Proxy proxy(broker.port(), limits);
  {
    Fd client = connect_loopback(proxy.port());
    std::vector<uint8_t> burst;
    for (int32_t i = 0; i < 200; ++i) {
      auto frame = request_frame(0, 3, i, produce_body(0));
      burst.insert(burst.end(), frame.begin(), frame.end());
    }
    ASSERT_TRUE(write_all(client.get(), burst));
  }
  for (int i = 0; i < 250 && broker.received_count() < 200; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(broker.received_count(), 200u);
}

TEST(Connection, HalfClosedClientStillGetsItsResponses) {
  FakeBroker broker(answer_with({0x77}));
  Proxy proxy(broker.port(), {});
  Fd client = connect_loopback(proxy.port());
  for (int32_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(write_all(client.get(), request_frame(kApiVersions, 0, i)));
  }
  ::shutdown(client.get(), SHUT_WR);
  for (int32_t i = 0; i < 5; ++i) {
    auto response = read_frame(client.get());
    ASSERT_TRUE(response.has_value()) << i;
    EXPECT_EQ(correlation_of_response(*response), i);
  }
  EXPECT_TRUE(peer_closed(client.get(), 5000)) << "the proxy closes once everything is answered";
}

TEST(Connection, UnreachableBrokerClosesTheClient) {
  uint16_t dead_port = 0;
  { Fd unused = listen_loopback(dead_port); }
  Proxy proxy(dead_port, {});
  Fd client = connect_loopback(proxy.port());
  EXPECT_TRUE(peer_closed(client.get(), 5000));
}

TEST(Connection, ManyClientsAcrossWorkers) {
  FakeBroker broker(answer_with({0x33}));
  Proxy proxy(broker.port(), {}, {}, 2);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      Fd client = connect_loopback(proxy.port());
      for (int32_t i = 0; i < 200; ++i) {
        if (!write_all(client.get(), request_frame(kApiVersions, 0, c * 1000 + i))) {
          return;
        }
      }
      for (int32_t i = 0; i < 200; ++i) {
        auto r = read_frame(client.get());
        if (!r || correlation_of_response(*r) != c * 1000 + i) {
          return;
        }
      }
      ++ok;
    });
  }
  for (auto& t : clients) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(broker.connections(), 8);
}

}  // namespace
}  // namespace kenc::proxy
