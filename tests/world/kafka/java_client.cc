#include "tests/world/kafka/java_client.h"

#include <openssl/evp.h>

#include <sstream>
#include <stdexcept>

#include "tests/world/base/process.h"
#include "tests/world/kafka/kafka_distribution.h"

namespace kenc::testworld {
namespace {

constexpr const char* kMainClass = "KencTestClient";

std::vector<std::string> with_props(std::vector<std::string> args, const Properties& props) {
  for (const auto& [k, v] : props) {
    args.push_back("--prop");
    args.push_back(k + "=" + v);
  }
  return args;
}

// The client prints JSON lines on stdout; stderr (warnings) is interleaved and skipped.
std::vector<nlohmann::json> json_lines(const std::string& output) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || (line[0] != '{' && line[0] != '[')) continue;
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

static std::vector<TestRecord> parse_records(const std::string& output);

std::string base64_encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(const std::string& text) {
  if (text.empty()) return {};
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) throw std::runtime_error("invalid base64");
  // EVP_DecodeBlock counts padding as data bytes.
  size_t pad = 0;
  if (text.size() >= 1 && text[text.size() - 1] == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::vector<TestRecord> JavaClient::produce(const std::string& bootstrap, const std::string& topic,
                                            const std::vector<TestRecord>& records,
                                            const Properties& props,
                                            const std::string& transactional_id, bool abort,
                                            std::chrono::milliseconds timeout) {
  std::string input;
  for (const auto& r : records) {
    nlohmann::json j;
    j["key"] = optional_b64(r.key);
    j["value"] = optional_b64(r.value);
    j["headers"] = nlohmann::json::array();
    for (const auto& [hk, hv] : r.headers)
      j["headers"].push_back({{"key", hk}, {"value", optional_b64(hv)}});
    if (r.partition >= 0) j["partition"] = r.partition;
    if (r.timestamp >= 0) j["timestamp"] = r.timestamp;
    input += j.dump() + "\n";
  }
  std::vector<std::string> args = {"produce", "--bootstrap", bootstrap, "--topic", topic};
  if (!transactional_id.empty()) {
    args.insert(args.end(), {"--transactional-id", transactional_id});
    if (abort) args.push_back("--abort");
  }
  auto result =
      KafkaDistribution::get().run_java(kMainClass, with_props(args, props), input, timeout);
  if (result.exit_code != 0) throw std::runtime_error("Java producer failed: " + result.output);
  auto lines = json_lines(result.output);
  if (lines.size() != records.size()) {
    throw std::runtime_error("Java producer acknowledged " + std::to_string(lines.size()) + " of " +
                             std::to_string(records.size()) + " records: " + result.output);
  }
  std::vector<TestRecord> out = records;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].topic = topic;
    out[i].partition = lines[i]["partition"].get<int32_t>();
    out[i].offset = lines[i]["offset"].get<int64_t>();
  }
  return out;
}

std::vector<TestRecord> JavaClient::consume(const std::string& bootstrap, const std::string& topic,
                                            size_t count, const Properties& props,
                                            const std::string& group,
                                            std::chrono::milliseconds timeout) {
  std::vector<std::string> args = {"consume",
                                   "--bootstrap",
                                   bootstrap,
                                   "--topic",
                                   topic,
                                   "--count",
                                   std::to_string(count),
                                   "--timeout-ms",
                                   std::to_string(timeout.count())};
  if (!group.empty()) args.insert(args.end(), {"--group", group});
  auto result = KafkaDistribution::get().run_java(kMainClass, with_props(args, props), "",
                                                  timeout + std::chrono::seconds(60));
  if (result.exit_code != 0 && result.exit_code != 3) {
    throw std::runtime_error("Java consumer failed: " + result.output);
  }
  return parse_records(result.output);
}

std::vector<TestRecord> JavaClient::consume_all(const std::string& bootstrap,
                                                const std::string& topic, size_t at_least,
                                                const Properties& props,
                                                std::chrono::milliseconds timeout) {
  std::vector<std::string> args = {"consume",
                                   "--bootstrap",
                                   bootstrap,
                                   "--topic",
                                   topic,
                                   "--count",
                                   std::to_string(at_least),
                                   "--timeout-ms",
                                   std::to_string(timeout.count()),
                                   "--to-end"};
  auto result = KafkaDistribution::get().run_java(kMainClass, with_props(args, props), "",
                                                  timeout + std::chrono::seconds(60));
  if (result.exit_code != 0) {
    throw std::runtime_error(
        "Java consumer (to the end) failed, exit " + std::to_string(result.exit_code) + ": " +
        result.output.substr(result.output.size() > 4000 ? result.output.size() - 4000 : 0));
  }
  return parse_records(result.output);
}

static std::vector<TestRecord> parse_records(const std::string& output) {
  std::vector<TestRecord> out;
  for (const auto& j : json_lines(output)) {
    TestRecord r;
    r.topic = j["topic"].get<std::string>();
    r.partition = j["partition"].get<int32_t>();
    r.offset = j["offset"].get<int64_t>();
    r.timestamp = j["timestamp"].get<int64_t>();
    r.timestamp_type = j["timestampType"].get<std::string>();
    r.key = from_optional_b64(j["key"]);
    r.value = from_optional_b64(j["value"]);
    for (const auto& h : j["headers"]) {
      r.headers.emplace_back(h["key"].get<std::string>(), from_optional_b64(h["value"]));
    }
    out.push_back(std::move(r));
  }
  return out;
}

nlohmann::json JavaClient::admin(const std::string& bootstrap, const std::vector<std::string>& args,
                                 const Properties& props) {
  std::vector<std::string> full = {"admin", "--bootstrap", bootstrap};
  full.insert(full.end(), args.begin(), args.end());
  auto result = KafkaDistribution::get().run_java(kMainClass, with_props(full, props));
  if (result.exit_code != 0) throw std::runtime_error("Java admin client failed: " + result.output);
  auto lines = json_lines(result.output);
  if (lines.empty())
    throw std::runtime_error("Java admin client printed no answer: " + result.output);
  return lines.back();
}

CommandResult run_kcat(const std::vector<std::string>& args, const std::string& input,
                       std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"kcat"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, input, timeout);
}

}  // namespace kenc::testworld
