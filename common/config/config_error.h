#pragma once

#include <stdexcept>
#include <string>

namespace kenc::config {

// A configuration problem found at start-up. The message always names the offending key
// (as a dotted path such as `virtual_clusters[0].gateway.bootstrap`) and what is wrong with it.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(const std::string& key, const std::string& problem);

  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

}  // namespace kenc::config
