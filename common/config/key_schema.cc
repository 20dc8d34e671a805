#include "common/config/key_schema.h"

#include <algorithm>
#include <stdexcept>

namespace kenc::config {

const std::set<std::string>& KeySchema::keys_under(const std::string& path) const {
  auto it = mappings_.find(schema_path(path));
  if (it == mappings_.end()) {
    throw std::logic_error("configuration schema has no mapping '" + path + "'");
  }
  return it->second;
}

std::vector<std::string> KeySchema::all_keys() const {
  std::vector<std::string> keys;
  for (const auto& [path, names] : mappings_) {
    for (const auto& name : names) {
      keys.push_back(path.empty() ? name : path + "." + name);
    }
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string KeySchema::schema_path(const std::string& path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    out.push_back(path[i]);
    if (path[i] == '[') {
      while (i + 1 < path.size() && path[i + 1] != ']') {
        ++i;  // drop the index
      }
    }
  }
  return out;
}

}  // namespace kenc::config
