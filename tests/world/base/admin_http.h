#pragma once

#include <string>
#include <vector>

namespace kenc::testworld {

// Plain HTTP against the daemons' admin endpoints (/livez, /readyz, /metrics) on loopback.

// GET http://127.0.0.1:<port><path> (HTTP/1.1, Connection: close): the whole response, status
// line and headers included, or "" if the connection failed.
std::string http_get(int port, const std::string& path);

// The same, the body only ("" if the connection failed).
std::string http_get_body(int port, const std::string& path);

// The value of one Prometheus sample line "<series> <value>" in a /metrics page, summed over
// every line whose name and labels contain all of `label_parts` (e.g. {"operation=\"encrypt\""}).
// -1 when no line matched.
double metric_value(const std::string& page, const std::string& name,
                    const std::vector<std::string>& label_parts = {});

}  // namespace kenc::testworld
