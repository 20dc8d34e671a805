#include "keybroker/auth/policy.h"

#include <fnmatch.h>

#include <algorithm>

namespace kenc::keybroker::auth {

const char* operation_name(Operation op) {
  switch (op) {
    case Operation::kLease:
      return "lease";
    case Operation::kUnwrap:
      return "unwrap";
    case Operation::kResolve:
      return "resolve";
  }
  return "unknown";
}

std::optional<Operation> parse_operation(std::string_view name) {
  if (name == "lease") {
    return Operation::kLease;
  }
  if (name == "unwrap") {
    return Operation::kUnwrap;
  }
  if (name == "resolve") {
    return Operation::kResolve;
  }
  return std::nullopt;
}

bool glob_match(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

bool Policy::allows(std::string_view identity, Operation op,
                    const std::vector<std::string>& kek_names) const {
  if (identity.empty()) {
    return false;
  }
  const std::string who(identity);
  return std::any_of(rules_.begin(), rules_.end(), [&](const Rule& rule) {
    return std::find(rule.operations.begin(), rule.operations.end(), op) != rule.operations.end() &&
           std::any_of(rule.identities.begin(), rule.identities.end(),
                       [&](const std::string& p) { return glob_match(p, who); }) &&
           std::any_of(rule.keks.begin(), rule.keks.end(), [&](const std::string& p) {
             return std::any_of(kek_names.begin(), kek_names.end(),
                                [&](const std::string& name) { return glob_match(p, name); });
           });
  });
}

}  // namespace kenc::keybroker::auth
