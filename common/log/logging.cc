#include "common/log/logging.h"

namespace kenc::log {

void init(const char* program_name) {
  FLAGS_logtostderr = true;
  FLAGS_colorlogtostderr = false;
  google::InitGoogleLogging(program_name);
}

}  // namespace kenc::log
