#pragma once

#include <glog/logging.h>

namespace kenc::log {

// Sets up glog for a daemon: everything to stderr (the service manager collects it), with the
// program name in every line. Call once, first thing in main().
void init(const char* program_name);

}  // namespace kenc::log
