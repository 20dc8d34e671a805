#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/key_schema.h"

namespace re2 {
class RE2;
}

namespace kenc::record_encryption {

// What happens to the records of one topic.
enum class TopicAction {
  kEncrypt,    // encrypt values under the KEK named by kek_alias
  kPlaintext,  // forward unencrypted (an explicit rule, or unmatched_topic: passthrough)
  kReject,     // refuse the produce (unmatched topic under the default fail-closed policy)
};

// What to do when a topic has no rule, or its KEK alias does not resolve to a KEK.
enum class FallbackPolicy { kReject, kPassthrough };

struct TopicDecision {
  TopicAction action = TopicAction::kReject;
  std::string kek_alias;  // set for kEncrypt: the rule's template with the topic substituted
  int rule_index = -1;    // the rule that matched, -1 when none did (for logs and metrics)
};

// Which topics are encrypted, under which KEK. Rules are tried in order; the first match
// decides. A rule matches a topic name exactly, by prefix, or by a regular expression (RE2,
// whole-name match, linear time: a hostile topic name cannot make it backtrack), and maps it
// to a KEK alias template (`$(topicName)` is replaced by the topic name, so
// `KEK_$(topicName)` gives one KEK per topic and `shared` one KEK for all) or to plaintext.
//
// YAML (`key_path` names the node in errors):
//   rules:
//     - exact: orders            # or  prefix: "pay-"   or  regex: "audit\\..*"
//       kek: KEK_$(topicName)    # or  plaintext: true
//   unmatched_topic: reject      # default; or passthrough
//   unresolved_kek: reject       # default; or passthrough
//   topic_cache_size: 10000      # decisions remembered per topic name
//
// decide() is thread-safe and caches its answer per topic name, so the rules run once per
// topic, not once per request. The cache is bounded: when full it starts again empty (topic
// names come from clients, so an unbounded cache would be a memory leak on demand).
class TopicPolicy {
 public:
  // Throws config::ConfigError naming the offending key (e.g. `encryption.rules[2].regex`).
  static TopicPolicy from_yaml(const YAML::Node& node, const std::string& key_path);
  // The keys from_yaml accepts (relative to its node; rules are `rules[]`), for the
  // configuration reference check.
  static const kenc::config::KeySchema& config_keys();

  TopicPolicy(TopicPolicy&&) noexcept;
  TopicPolicy& operator=(TopicPolicy&&) noexcept;
  ~TopicPolicy();

  std::shared_ptr<const TopicDecision> decide(std::string_view topic) const;

  FallbackPolicy unmatched_topic() const { return unmatched_topic_; }
  FallbackPolicy unresolved_kek() const { return unresolved_kek_; }
  size_t rule_count() const { return rules_.size(); }
  size_t cached_decisions() const;

 private:
  enum class MatchKind { kExact, kPrefix, kRegex };
  struct Rule {
    MatchKind kind = MatchKind::kExact;
    std::string pattern;
    std::shared_ptr<const re2::RE2> regex;  // kRegex only; RE2 matching is thread-safe
    bool plaintext = false;
    std::vector<std::string> template_parts;  // literal pieces; the topic goes between them
  };
  struct Cache;

  TopicPolicy();
  TopicDecision evaluate(std::string_view topic) const;

  std::vector<Rule> rules_;
  FallbackPolicy unmatched_topic_ = FallbackPolicy::kReject;
  FallbackPolicy unresolved_kek_ = FallbackPolicy::kReject;
  std::unique_ptr<Cache> cache_;
};

}  // namespace kenc::record_encryption
