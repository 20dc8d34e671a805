#include "tests/world/kafka/python_client.h"

#include <sstream>
#include <stdexcept>

#include "tests/world/base/process.h"
#include "tests/world/base/run_dir.h"

namespace kenc::testworld {
namespace {

std::vector<std::string> python_command(const std::string& mode, const std::string& bootstrap,
                                        const std::string& topic, const Properties& props) {
  std::vector<std::string> argv = {KENC_SYSTEM_PYTHON,
                                   source_dir() + "/tests/world/python/kenc_test_client.py",
                                   mode,
                                   "--bootstrap",
                                   bootstrap,
                                   "--topic",
                                   topic};
  for (const auto& [k, v] : props) {
    argv.push_back("--prop");
    argv.push_back(k + "=" + v);
  }
  return argv;
}

// The script prints JSON objects on stdout; anything else (librdkafka warnings on stderr) is
// skipped.
std::vector<nlohmann::json> json_lines(const std::string& output) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (!parsed.is_discarded()) lines.push_back(std::move(parsed));
  }
  return lines;
}

nlohmann::json optional_b64(const std::optional<std::string>& bytes) {
  return bytes ? nlohmann::json(base64_encode(*bytes)) : nlohmann::json(nullptr);
}

std::optional<std::string> from_optional_b64(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  return base64_decode(j.get<std::string>());
}

}  // namespace

std::vector<TestRecord> PythonClient::produce(const std::string& bootstrap,
                                              const std::string& topic,
                                              const std::vector<TestRecord>& records,
                                              const Properties& props) {
  std::string input;
  for (const auto& r : records) {
    nlohmann::json j;
    j["key"] = optional_b64(r.key);
    j["value"] = optional_b64(r.value);
    j["headers"] = nlohmann::json::array();
    for (const auto& [hk, hv] : r.headers) {
      j["headers"].push_back({{"key", hk}, {"value", optional_b64(hv)}});
    }
    if (r.partition >= 0) j["partition"] = r.partition;
    if (r.timestamp >= 0) j["timestamp"] = r.timestamp;
    input += j.dump() + "\n";
  }
  auto result = run_command(python_command("produce", bootstrap, topic, props), input,
                            std::chrono::minutes(3));
  if (result.exit_code != 0) throw std::runtime_error("Python producer failed: " + result.output);
  auto lines = json_lines(result.output);
  if (lines.size() != records.size()) {
    throw std::runtime_error("Python producer acknowledged " + std::to_string(lines.size()) +
                             " of " + std::to_string(records.size()) +
                             " records: " + result.output);
  }
  std::vector<TestRecord> out = records;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].topic = topic;
    out[i].partition = lines[i].at("partition").get<int32_t>();
    out[i].offset = lines[i].at("offset").get<int64_t>();
  }
  return out;
}

std::vector<TestRecord> PythonClient::consume(const std::string& bootstrap,
                                              const std::string& topic, size_t count,
                                              const Properties& props, const std::string& group,
                                              std::chrono::milliseconds timeout) {
  auto argv = python_command("consume", bootstrap, topic, props);
  argv.insert(argv.end(),
              {"--count", std::to_string(count), "--timeout-ms", std::to_string(timeout.count())});
  if (!group.empty()) argv.insert(argv.end(), {"--group", group});
  auto result = run_command(argv, "", timeout + std::chrono::seconds(30));
  if (result.exit_code != 0 && result.exit_code != 3) {
    throw std::runtime_error("Python consumer failed: " + result.output);
  }
  std::vector<TestRecord> out;
  for (const auto& j : json_lines(result.output)) {
    TestRecord r;
    r.topic = j.at("topic").get<std::string>();
    r.partition = j.at("partition").get<int32_t>();
    r.offset = j.at("offset").get<int64_t>();
    r.timestamp = j.at("timestamp").get<int64_t>();
    r.timestamp_type = j.at("timestampType").get<std::string>();
    r.key = from_optional_b64(j.at("key"));
    r.value = from_optional_b64(j.at("value"));
    for (const auto& h : j.at("headers")) {
      r.headers.emplace_back(h.at("key").get<std::string>(), from_optional_b64(h.at("value")));
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace kenc::testworld
