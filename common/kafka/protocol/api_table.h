#pragma once

#include <cstdint>
#include <span>

namespace kenc::kafka {

// What the pinned Kafka release's message specs say about one API key.
struct ApiInfo {
  int16_t api_key;
  const char* name;  // e.g. "Produce"
  int16_t lowest_version;
  int16_t highest_version;
  int16_t first_flexible_version;  // -1: no flexible version
  bool broker_listener;            // served by brokers (the APIs a client-facing proxy sees)
  bool controller_listener;        // served by KRaft controllers
  bool latest_version_unstable;    // the highest version is still under development

  bool is_valid_version(int16_t version) const {
    return version >= lowest_version && version <= highest_version;
  }
  bool is_flexible(int16_t version) const {
    return first_flexible_version >= 0 && version >= first_flexible_version;
  }
  // Request header v2 for flexible versions, v1 otherwise (v0 only for ControlledShutdown v0).
  int16_t request_header_version(int16_t version) const;
  // Response header v1 for flexible versions, v0 otherwise; ApiVersions always uses v0 so that a
  // client can parse the answer before it knows what the broker supports.
  int16_t response_header_version(int16_t version) const;
};

inline constexpr int16_t kApiVersionsKey = 18;
inline constexpr int16_t kControlledShutdownKey = 7;

// Every API key of the pinned release, in key order (generated).
std::span<const ApiInfo> all_apis();
// nullptr for an API key the pinned release does not define.
const ApiInfo* find_api(int16_t api_key);

}  // namespace kenc::kafka
