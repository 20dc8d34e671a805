// keybroker_bench: lease and unwrap requests per second through the real gRPC service over
// mutual TLS, against an in-process key broker with the local KMS.
//
//   keybroker_bench [--seconds N] [--concurrency C]
//
// A closed loop keeps C calls in flight through the proxy's asynchronous client. Client and
// broker share this process, so "per core" divides by the CPU time of both together: a lower
// bound for the broker alone.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto/edek.h"
#include "keybroker/audit/audit_log.h"
#include "keybroker/config/keybroker_config.h"
#include "keybroker/dek/dek_manager.h"
#include "keybroker/kms/local/local_kms.h"
#include "keybroker/server/grpc_server.h"
#include "keybroker/server/key_broker_service.h"
#include "proxy/keybroker_client/keybroker_client.h"
#include "tests/world/keybroker/test_pki.h"

namespace {

namespace kb = kenc::keybroker;
using kenc::proxy::keybroker_client::KeyBrokerClient;
using kenc::proxy::keybroker_client::KeyBrokerClientOptions;

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

struct Figures {
  double per_second = 0;
  double per_cpu_second = 0;
  uint64_t errors = 0;
};

// Keeps `concurrency` calls in flight for `seconds`; `issue(i, done)` starts call number i and
// calls done(ok) when it completes (on a gRPC thread).
Figures closed_loop(int concurrency, double seconds,
                    const std::function<void(uint64_t, std::function<void(bool)>)>& issue) {
  std::atomic<uint64_t> completed{0}, errors{0}, next{0};
  std::atomic<bool> stop{false};
  std::atomic<int> running{concurrency};
  std::promise<void> all_done;
  std::function<void()> one;
  one = [&] {
    issue(next++, [&](bool ok) {
      ++completed;
      if (!ok) {
        ++errors;
      }
      if (stop.load()) {
        if (--running == 0) {
          all_done.set_value();
        }
      } else {
        one();
      }
    });
  };
  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < concurrency; ++i) {
    one();
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  all_done.get_future().wait();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;
  return {static_cast<double>(completed) / wall, static_cast<double>(completed) / cpu,
          errors.load()};
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  int concurrency = 32;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) {
      seconds = std::atof(argv[i + 1]);
    }
    if (std::strcmp(argv[i], "--concurrency") == 0) {
      concurrency = std::atoi(argv[i + 1]);
    }
  }

  std::string tmpl = (std::filesystem::temp_directory_path() / "kenc-kb-bench-XXXXXX").string();
  std::filesystem::path dir = ::mkdtemp(tmpl.data());
  kb::testing::TestCa ca("bench CA");
  auto server_pem = ca.issue({"keybroker", "DNS:localhost,IP:127.0.0.1"});
  auto [client_cert, client_key] =
      ca.issue({"proxy", "URI:spiffe://kenc/bench/proxy"}).write(dir, "client");
  std::ofstream(dir / "ca.crt") << ca.cert_pem();

  kb::config::KeybrokerConfig config;
  config.listen = "127.0.0.1:0";
  config.tls = {"", "", "", ca.cert_pem(), server_pem.cert, server_pem.key};
  config.policy = kb::auth::Policy(
      {kb::auth::Rule{{"*"}, {"*"}, {kb::auth::Operation::kLease, kb::auth::Operation::kUnwrap}}});

  auto kms = kb::kms::LocalKms::open({dir / "keks.json", true});
  if (!kms) {
    std::fprintf(stderr, "local KMS: %s\n", kms.error().to_string().c_str());
    return 1;
  }
  // Distinct EDEKs for the cache-miss run, made before the clock starts.
  std::vector<std::vector<uint8_t>> edeks;
  for (int i = 0; i < 20000; ++i) {
    auto dek = (*kms)->generate_dek("bench");
    edeks.push_back(
        kenc::crypto::serialize_edek({"bench", dek->kek_version, dek->wrapped}).value());
  }
  auto audit = kb::audit::AuditLog::open("/dev/null");

  struct Run {
    const char* name;
    size_t cache_capacity;
  };
  std::printf(
      "key broker over mutual TLS, local KMS, %d calls in flight, %.0f s per run, %ld cores\n",
      concurrency, seconds, ::sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("%-26s %12s %16s %8s %14s\n", "operation", "calls/s", "calls/cpu-second", "errors",
              "KMS calls");
  double hit_rate = 0, miss_rate = 0;
  for (const char* op : {"lease", "unwrap (cache hit)", "unwrap (cache miss)"}) {
    bool miss = std::strcmp(op, "unwrap (cache miss)") == 0;
    config.deks.unwrap_cache_capacity = miss ? 0 : 10000;
    kb::dek::DekManager deks(**kms, config.deks);
    kb::server::KeyBrokerService service(config, deks, **audit);
    int port = 0;
    auto server = kb::server::start_grpc_server(config, service, &port);
    KeyBrokerClientOptions options;
    options.target = "127.0.0.1:" + std::to_string(port);
    options.ca_file = (dir / "ca.crt").string();
    options.cert_file = client_cert;
    options.key_file = client_key;
    options.server_name_override = "localhost";
    auto client = KeyBrokerClient::create(options).value();
    Figures f;
    if (std::strcmp(op, "lease") == 0) {
      f = closed_loop(concurrency, seconds, [&](uint64_t, const std::function<void(bool)>& done) {
        client->lease_dek("bench", "t", 1, [done](auto r) { done(r.ok()); });
      });
    } else {
      f = closed_loop(concurrency, seconds, [&](uint64_t i, const std::function<void(bool)>& done) {
        const auto& edek = miss ? edeks[i % edeks.size()] : edeks[0];
        client->unwrap_dek(edek, "t", [done](auto r) { done(r.ok()); });
      });
    }
    auto stats = deks.stats();
    std::printf("%-26s %12.0f %16.0f %8llu %14llu\n", op, f.per_second, f.per_cpu_second,
                static_cast<unsigned long long>(f.errors),
                static_cast<unsigned long long>(stats.kms_generate_calls + stats.kms_unwrap_calls));
    if (std::strcmp(op, "unwrap (cache hit)") == 0) {
      hit_rate = f.per_second;
      std::printf("%-26s cache hits %llu, misses %llu\n", "",
                  static_cast<unsigned long long>(stats.unwrap_cache_hits),
                  static_cast<unsigned long long>(stats.unwrap_cache_misses));
    }
    if (miss) {
      miss_rate = f.per_second;
      std::printf("%-26s cache hits %llu, misses %llu\n", "",
                  static_cast<unsigned long long>(stats.unwrap_cache_hits),
                  static_cast<unsigned long long>(stats.unwrap_cache_misses));
    }
    client.reset();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  if (miss_rate > 0) {
    std::printf("cache hit / miss throughput ratio: %.2f\n", hit_rate / miss_rate);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
