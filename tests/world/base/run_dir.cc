#include "tests/world/base/run_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <stdexcept>

namespace kenc::testworld {

std::string world_dir() {
  if (const char* env = std::getenv("KENC_WORLD_DIR"); env != nullptr && *env != '\0') return env;
  return KENC_WORLD_DIR;
}

std::string source_dir() { return KENC_SOURCE_DIR; }

RunDir::RunDir(const std::string& label) {
  static std::atomic<int> counter{0};
  path_ = world_dir() + "/runs/" + label + "-" + std::to_string(getpid()) + "-" +
          std::to_string(counter++);
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

RunDir::~RunDir() {
  auto* unit = ::testing::UnitTest::GetInstance();
  if (unit != nullptr && unit->Failed()) {
    std::cerr << "[test world] a test failed: logs kept in " << path_ << "\n";
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void with_world_lock(const std::string& name, const std::function<void()>& fn) {
  std::filesystem::create_directories(world_dir());
  std::string path = world_dir() + "/" + name + ".lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open lock file " + path);
  flock(fd, LOCK_EX);
  try {
    fn();
  } catch (...) {
    flock(fd, LOCK_UN);
    close(fd);
    throw;
  }
  flock(fd, LOCK_UN);
  close(fd);
}

}  // namespace kenc::testworld
