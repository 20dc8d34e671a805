// libFuzzer target for the record-encryption topic policy (the `encryption.topics` YAML block,
// proxy/filters/record_encryption/topic_policy.h). The input is split at the first NUL byte: the
// YAML before it, and a topic name after it (topic names come from clients, so decide() sees
// hostile names too). Loading must give a policy or a clean YAML/ConfigError; decide() must
// never crash and must be stable (the cached answer equals the first one).
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/config/config_error.h"
#include "proxy/filters/record_encryption/topic_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using kenc::record_encryption::TopicPolicy;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string yaml(input.substr(0, split));
  const std::string_view topic =
      split == std::string_view::npos ? std::string_view("orders") : input.substr(split + 1);
  try {
    TopicPolicy policy = TopicPolicy::from_yaml(YAML::Load(yaml), "encryption.topics");
    auto first = policy.decide(topic);
    auto again = policy.decide(topic);
    if (first == nullptr || again == nullptr || first->rule_index != again->rule_index) {
      __builtin_trap();
    }
  } catch (const kenc::config::ConfigError&) {
  } catch (const YAML::Exception&) {
  }
  return 0;
}
