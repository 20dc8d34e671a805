#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kenc::keybroker::auth {

enum class Operation { kLease, kUnwrap, kResolve };

const char* operation_name(Operation op);
std::optional<Operation> parse_operation(std::string_view name);

// One grant: callers whose identity matches any of `identities` may perform `operations` on
// KEKs whose alias matches any of `keks`. Patterns are shell globs (`*`, `?`, `[a-z]`), where
// `*` also matches `/`, e.g. `spiffe://kenc/proxy/*` or `orders-*`.
struct Rule {
  std::vector<std::string> identities;
  std::vector<std::string> keks;
  std::vector<Operation> operations;
};

// Default deny: a request is allowed when some rule matches its identity, its operation and
// one of the names the KEK is known by (the alias asked for; for unwrap, the KEK id from the
// EDEK and every alias that maps to it).
class Policy {
 public:
  Policy() = default;
  explicit Policy(std::vector<Rule> rules) : rules_(std::move(rules)) {}

  bool allows(std::string_view identity, Operation op,
              const std::vector<std::string>& kek_names) const;
  size_t rule_count() const { return rules_.size(); }

 private:
  std::vector<Rule> rules_;
};

bool glob_match(const std::string& pattern, const std::string& text);

}  // namespace kenc::keybroker::auth
