#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/base/result.h"

namespace kenc::keybroker::kms::vault {

// One blocking HTTP exchange over libcurl, with a fresh easy handle per call so that any
// number of threads may call at once. Headers and bodies may hold tokens or key material:
// both are wiped when the objects are dropped, and curl's verbose output is never enabled.
struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds total_timeout{5000};
  std::string ca_file;  // empty: the system trust store

  HttpRequest() = default;
  HttpRequest(HttpRequest&&) = default;
  HttpRequest& operator=(HttpRequest&&) = default;
  ~HttpRequest();
};

struct HttpResponse {
  long status = 0;
  std::string body;

  HttpResponse() = default;
  HttpResponse(HttpResponse&&) = default;
  HttpResponse& operator=(HttpResponse&&) = default;
  ~HttpResponse();
};

// Any HTTP status is a successful exchange. Transport failures become:
//   kUnavailable        refused/reset connection, DNS, TLS handshake or trust failure, and a
//                       connect phase that timed out (nothing is listening or reachable)
//   kDeadlineExceeded   connected, but the answer did not arrive within total_timeout
//   kInternal           curl could not be set up
Result<HttpResponse> perform_http(const HttpRequest& request);

// Percent-encodes one URL path segment (a key name), so it cannot change the path.
std::string escape_path_segment(const std::string& segment);

}  // namespace kenc::keybroker::kms::vault
