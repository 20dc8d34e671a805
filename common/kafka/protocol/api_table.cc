#include "common/kafka/protocol/api_table.h"

namespace kenc::kafka {

int16_t ApiInfo::request_header_version(int16_t version) const {
  if (is_flexible(version)) {
    return 2;
  }
  if (api_key == kControlledShutdownKey && version == 0) {
    return 0;
  }
  return 1;
}

int16_t ApiInfo::response_header_version(int16_t version) const {
  if (api_key == kApiVersionsKey) {
    return 0;
  }
  return is_flexible(version) ? 1 : 0;
}

const ApiInfo* find_api(int16_t api_key) {
  for (const ApiInfo& api : all_apis()) {
    if (api.api_key == api_key) {
      return &api;
    }
  }
  return nullptr;
}

}  // namespace kenc::kafka
