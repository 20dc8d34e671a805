#include "proxy/filters/record_encryption/topic_policy.h"

#include <re2/re2.h>

#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "common/config/config_error.h"

namespace kenc::record_encryption {
namespace {

using config::ConfigError;

constexpr std::string_view kTopicPlaceholder = "$(topicName)";
constexpr size_t kDefaultTopicCacheSize = 10000;

std::string scalar(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) {
    throw ConfigError(key, "must be a string");
  }
  return node.as<std::string>();
}

FallbackPolicy parse_fallback(const YAML::Node& node, const std::string& key) {
  if (!node) {
    return FallbackPolicy::kReject;
  }
  std::string value = scalar(node, key);
  if (value == "reject") {
    return FallbackPolicy::kReject;
  }
  if (value == "passthrough") {
    return FallbackPolicy::kPassthrough;
  }
  throw ConfigError(key, "must be 'reject' or 'passthrough', not '" + value + "'");
}

// Splits a KEK alias template at each `$(topicName)`; any other `$(` is a mistake.
std::vector<std::string> parse_template(const std::string& tmpl, const std::string& key) {
  if (tmpl.empty()) {
    throw ConfigError(key, "must not be empty");
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t at = tmpl.find("$(", start);
    if (at == std::string::npos) {
      parts.push_back(tmpl.substr(start));
      return parts;
    }
    if (tmpl.compare(at, kTopicPlaceholder.size(), kTopicPlaceholder) != 0) {
      throw ConfigError(key, "unknown placeholder in '" + tmpl + "': only $(topicName) is known");
    }
    parts.push_back(tmpl.substr(start, at - start));
    start = at + kTopicPlaceholder.size();
  }
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct TopicPolicy::Cache {
  size_t capacity = kDefaultTopicCacheSize;
  mutable std::shared_mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<const TopicDecision>, StringHash, std::equal_to<>>
      decisions;
};

TopicPolicy::TopicPolicy() : cache_(std::make_unique<Cache>()) {}
TopicPolicy::TopicPolicy(TopicPolicy&&) noexcept = default;
TopicPolicy& TopicPolicy::operator=(TopicPolicy&&) noexcept = default;
TopicPolicy::~TopicPolicy() = default;

const kenc::config::KeySchema& TopicPolicy::config_keys() {
  static const kenc::config::KeySchema kSchema{
      {"", {"rules", "unmatched_topic", "unresolved_kek", "topic_cache_size"}},
      {"rules[]", {"exact", "prefix", "regex", "kek", "plaintext"}},
  };
  return kSchema;
}

TopicPolicy TopicPolicy::from_yaml(const YAML::Node& node, const std::string& key_path) {
  auto key = [&](const std::string& sub) { return key_path.empty() ? sub : key_path + "." + sub; };
  if (!node || !node.IsMap()) {
    throw ConfigError(key_path, "must be a mapping");
  }
  for (const auto& entry : node) {
    std::string name = entry.first.as<std::string>();
    if (!config_keys().keys_under("").contains(name)) {
      throw ConfigError(key(name), "unknown key");
    }
  }

  TopicPolicy policy;
  policy.unmatched_topic_ = parse_fallback(node["unmatched_topic"], key("unmatched_topic"));
  policy.unresolved_kek_ = parse_fallback(node["unresolved_kek"], key("unresolved_kek"));
  if (const auto& size = node["topic_cache_size"]) {
    long long n = 0;
    try {
      n = size.as<long long>();
    } catch (const YAML::Exception&) {
      throw ConfigError(key("topic_cache_size"), "must be a whole number");
    }
    if (n < 1 || n > 10'000'000) {
      throw ConfigError(key("topic_cache_size"), "must be between 1 and 10000000");
    }
    policy.cache_->capacity = static_cast<size_t>(n);
  }

  const YAML::Node& rules = node["rules"];
  if (rules && !rules.IsSequence()) {
    throw ConfigError(key("rules"), "must be a list");
  }
  for (size_t i = 0; rules && i < rules.size(); ++i) {
    std::string rule_key = key("rules[" + std::to_string(i) + "]");
    const YAML::Node& r = rules[i];
    if (!r.IsMap()) {
      throw ConfigError(rule_key, "must be a mapping");
    }
    Rule rule;
    int matchers = 0;
    for (const auto& entry : r) {
      std::string name = entry.first.as<std::string>();
      std::string field_key = rule_key + "." + name;
      if (name == "exact" || name == "prefix" || name == "regex") {
        ++matchers;
        rule.pattern = scalar(entry.second, field_key);
        if (rule.pattern.empty() && name != "prefix") {
          throw ConfigError(field_key, "is empty");
        }
        rule.kind = name == "exact"    ? MatchKind::kExact
                    : name == "prefix" ? MatchKind::kPrefix
                                       : MatchKind::kRegex;
        if (rule.kind == MatchKind::kRegex) {
          RE2::Options options;
          options.set_log_errors(false);
          auto re = std::make_shared<const RE2>(rule.pattern, options);
          if (!re->ok()) {
            throw ConfigError(field_key, "invalid regular expression: " + re->error());
          }
          rule.regex = std::move(re);
        }
      } else if (!config_keys().keys_under("rules[]").contains(name)) {
        throw ConfigError(field_key, "unknown key (expected exact, prefix, regex, kek, plaintext)");
      }
    }
    if (matchers != 1) {
      throw ConfigError(rule_key, "needs exactly one of exact, prefix, regex");
    }
    const YAML::Node& kek = r["kek"];
    const YAML::Node& plaintext = r["plaintext"];
    if (kek && plaintext) {
      throw ConfigError(rule_key, "has both kek and plaintext");
    }
    if (plaintext) {
      bool is_plain = false;
      try {
        is_plain = plaintext.as<bool>();
      } catch (const YAML::Exception&) {
        throw ConfigError(rule_key + ".plaintext", "must be true or false");
      }
      if (!is_plain) {
        throw ConfigError(rule_key + ".plaintext", "must be true (or use kek)");
      }
      rule.plaintext = true;
    } else if (kek) {
      rule.template_parts = parse_template(scalar(kek, rule_key + ".kek"), rule_key + ".kek");
    } else {
      throw ConfigError(rule_key, "needs kek (an alias or template) or plaintext: true");
    }
    policy.rules_.push_back(std::move(rule));
  }
  return policy;
}

TopicDecision TopicPolicy::evaluate(std::string_view topic) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    bool match = false;
    switch (rule.kind) {
      case MatchKind::kExact:
        match = topic == rule.pattern;
        break;
      case MatchKind::kPrefix:
        match = topic.substr(0, rule.pattern.size()) == rule.pattern;
        break;
      case MatchKind::kRegex:
        match = RE2::FullMatch(re2::StringPiece(topic.data(), topic.size()), *rule.regex);
        break;
    }
    if (!match) {
      continue;
    }
    TopicDecision decision;
    decision.rule_index = static_cast<int>(i);
    if (rule.plaintext) {
      decision.action = TopicAction::kPlaintext;
      return decision;
    }
    decision.action = TopicAction::kEncrypt;
    for (size_t p = 0; p < rule.template_parts.size(); ++p) {
      if (p > 0) {
        decision.kek_alias.append(topic);
      }
      decision.kek_alias += rule.template_parts[p];
    }
    return decision;
  }
  TopicDecision unmatched;
  unmatched.action = unmatched_topic_ == FallbackPolicy::kPassthrough ? TopicAction::kPlaintext
                                                                      : TopicAction::kReject;
  return unmatched;
}

std::shared_ptr<const TopicDecision> TopicPolicy::decide(std::string_view topic) const {
  {
    std::shared_lock lock(cache_->mutex);
    auto it = cache_->decisions.find(topic);
    if (it != cache_->decisions.end()) {
      return it->second;
    }
  }
  auto decision = std::make_shared<const TopicDecision>(evaluate(topic));
  std::unique_lock lock(cache_->mutex);
  if (cache_->decisions.size() >= cache_->capacity) {
    cache_->decisions.clear();
  }
  return cache_->decisions.emplace(std::string(topic), std::move(decision)).first->second;
}

size_t TopicPolicy::cached_decisions() const {
  std::shared_lock lock(cache_->mutex);
  return cache_->decisions.size();
}

}  // namespace kenc::record_encryption
