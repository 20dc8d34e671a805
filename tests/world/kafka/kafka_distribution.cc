#include "tests/world/kafka/kafka_distribution.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "tests/world/base/run_dir.h"

namespace kenc::testworld {
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

const KafkaDistribution& KafkaDistribution::get() {
  static const KafkaDistribution instance;
  return instance;
}

KafkaDistribution::KafkaDistribution() : home_(world_dir() + "/kafka-" + kKafkaVersion) {
  with_world_lock("kafka-distribution", [this] {
    fetch_jars();
    compile_test_client();
  });
}

void KafkaDistribution::fetch_jars() {
  std::string pom = source_dir() + "/tests/world/kafka/pom.xml";
  std::string marker = home_ + "/.complete";
  // The marker holds the pom it was made from, so a new pin fetches again.
  if (fs::exists(marker) && read_file(marker) == read_file(pom)) return;
  auto start = std::chrono::steady_clock::now();
  std::cerr << "[test world] fetching Apache Kafka " << kKafkaVersion << " jars with Maven\n";
  fs::remove_all(home_);
  fs::create_directories(home_);
  auto result = run_command({"mvn", "-q", "-B", "-f", pom, "dependency:copy-dependencies",
                             "-DincludeScope=runtime", "-DoutputDirectory=" + home_ + "/libs"},
                            "", std::chrono::minutes(15));
  if (result.exit_code != 0) {
    throw std::runtime_error(
        "cannot fetch the Kafka jars with Maven (is `mvn` installed? run "
        "scripts/setup.sh): " +
        result.output);
  }
  std::ofstream(marker) << read_file(pom);
  std::cerr << "[test world] Kafka jars fetched in " << seconds_since(start) << " s\n";
}

void KafkaDistribution::compile_test_client() {
  std::string source = source_dir() + "/tests/world/java/KencTestClient.java";
  // Compiled classes are keyed by the source's content, so an edit recompiles.
  std::string text = read_file(source);
  if (text.empty()) throw std::runtime_error("missing " + source);
  client_classes_ =
      home_ + "/test-client/" + std::to_string(std::hash<std::string>{}(text)&0xffffffffffULL);
  if (fs::exists(client_classes_ + "/KencTestClient.class")) return;
  fs::create_directories(client_classes_);
  auto result =
      run_command({"javac", "-nowarn", "-cp", home_ + "/libs/*", "-d", client_classes_, source});
  if (result.exit_code != 0) {
    fs::remove_all(client_classes_);
    throw std::runtime_error("cannot compile " + source + ": " + result.output);
  }
}

std::string KafkaDistribution::classpath() const { return home_ + "/libs/*:" + client_classes_; }

std::vector<std::string> KafkaDistribution::java_command(const std::string& main_class,
                                                         const std::vector<std::string>& args,
                                                         const std::string& log_file,
                                                         const std::string& heap,
                                                         bool fast_start) const {
  std::vector<std::string> cmd = {"java", "-Xms" + std::string(heap == "512m" ? "256m" : heap),
                                  "-Xmx" + heap, "-XX:+UseSerialGC", "-Djava.awt.headless=true"};
  // C1 only: a broker is ready in about half the time on a 2-core machine. Benchmarks turn it off.
  if (fast_start) cmd.push_back("-XX:TieredStopAtLevel=1");
  cmd.push_back("-Dlog4j2.configurationFile=" + source_dir() +
                "/tests/world/kafka/log4j2.properties");
  cmd.push_back("-Dkenc.log.file=" + (log_file.empty() ? std::string("/dev/null") : log_file));
  cmd.push_back("-cp");
  cmd.push_back(classpath());
  cmd.push_back(main_class);
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

CommandResult KafkaDistribution::run_java(const std::string& main_class,
                                          const std::vector<std::string>& args,
                                          const std::string& input,
                                          std::chrono::milliseconds timeout) const {
  return run_command(java_command(main_class, args, "", "512m"), input, timeout);
}

}  // namespace kenc::testworld
