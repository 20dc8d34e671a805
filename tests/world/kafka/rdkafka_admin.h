#pragma once

#include <map>
#include <string>

namespace kenc::testworld {

// Small admin operations through librdkafka, used by the fixture itself (no JVM start-up cost).

// How many brokers the cluster's metadata lists; 0 (and `error` set) when it cannot be reached.
size_t count_brokers(const std::string& bootstrap, std::string* error = nullptr);

// Creates a topic and waits until every partition has a leader. Throws std::runtime_error.
void create_topic(const std::string& bootstrap, const std::string& name, int partitions,
                  int replication_factor, const std::map<std::string, std::string>& config = {});

void delete_topic(const std::string& bootstrap, const std::string& name);

}  // namespace kenc::testworld
