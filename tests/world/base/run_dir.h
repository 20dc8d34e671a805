#pragma once

#include <functional>
#include <string>

namespace kenc::testworld {

// The test world's cache folder (`<build>/world`): downloaded jars, built binaries, run folders.
std::string world_dir();

// The source tree's root, for scripts and files the world needs (poms, Java sources).
std::string source_dir();

// A folder for one run of a world component (a broker's data and logs, a server's log) under
// `<world>/runs/`. Deleted when the test binary passed; kept, and its path printed, when any
// test failed, so the logs can be read.
class RunDir {
 public:
  explicit RunDir(const std::string& label);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs `fn` while holding an exclusive lock on `<world>/<name>.lock`, so that concurrent test
// binaries do not download or build the same thing at once.
void with_world_lock(const std::string& name, const std::function<void()>& fn);

}  // namespace kenc::testworld
