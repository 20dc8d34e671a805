#include "common/config/yaml_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/config/config_error.h"

namespace kenc::config {
namespace {

std::string write_temp(const std::string& text) {
  auto path = std::filesystem::temp_directory_path() /
              ("kenc-yaml-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
               "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

TEST(YamlFile, LoadsAMapping) {
  auto path = write_temp("a: 1\nb: [x, y]\n");
  auto node = load_yaml_file(path);
  EXPECT_EQ(node["a"].as<int>(), 1);
  EXPECT_EQ(node["b"].size(), 2u);
  std::filesystem::remove(path);
}

TEST(YamlFile, MissingFileNamesThePath) {
  try {
    load_yaml_file("/nonexistent/kenc.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/kenc.yaml"), std::string::npos);
  }
}

TEST(YamlFile, SyntaxErrorGivesLineAndColumn) {
  auto path = write_temp("a: [1, 2\nb: 3\n");
  try {
    load_yaml_file(path);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("line"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(YamlFile, TopLevelMustBeAMapping) {
  auto path = write_temp("- a\n- b\n");
  EXPECT_THROW(load_yaml_file(path), ConfigError);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace kenc::config
