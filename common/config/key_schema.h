#pragma once

#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace kenc::config {

// The keys a YAML configuration accepts, per mapping. A mapping is named by its schema path:
// the dotted path with list indices written as `[]` (`virtual_clusters[].gateway`; "" is the
// top level). A parser takes its accepted keys from here when it rejects unknown ones, so the
// list of keys a daemon documents (`all_keys()`, compared with docs/configuration.md by a unit
// test) is the list it really accepts.
class KeySchema {
 public:
  KeySchema(std::initializer_list<std::pair<const std::string, std::set<std::string>>> mappings)
      : mappings_(mappings) {}

  // The keys allowed directly under the mapping at `path` (a concrete path such as
  // `virtual_clusters[2].gateway` is accepted too). Throws std::logic_error for a mapping the
  // schema does not describe: a parser bug, not a configuration error.
  const std::set<std::string>& keys_under(const std::string& path) const;

  // Every key as a full schema path (`virtual_clusters[].gateway.bootstrap`), sorted; mappings
  // and lists are keys too (`virtual_clusters`, `virtual_clusters[].gateway`).
  std::vector<std::string> all_keys() const;

  // `a[3].b[0].c` -> `a[].b[].c`.
  static std::string schema_path(const std::string& path);

 private:
  std::map<std::string, std::set<std::string>> mappings_;
};

}  // namespace kenc::config
