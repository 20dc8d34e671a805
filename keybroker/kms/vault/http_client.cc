#include "keybroker/kms/vault/http_client.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace kenc::keybroker::kms::vault {
namespace {

void wipe(std::string& s) {
  if (!s.empty()) {
    OPENSSL_cleanse(s.data(), s.size());
  }
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t append_body(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t n = size * count;
  // Grow by hand so that a reallocation does not leave an unwiped copy behind.
  if (body->size() + n > body->capacity()) {
    std::string bigger;
    bigger.reserve(std::max(body->capacity() * 2, body->size() + n));
    bigger.append(*body);
    wipe(*body);
    body->swap(bigger);
  }
  body->append(data, n);
  return n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

Error transport_error(CURLcode code, CURL* curl, const std::string& url) {
  curl_off_t connect_us = 0;
  curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
  std::string text = std::string("HTTP request to ") + url + " failed: " + curl_easy_strerror(code);
  if (code == CURLE_OPERATION_TIMEDOUT && connect_us > 0) {
    return make_error(ErrorCode::kDeadlineExceeded, text);
  }
  return make_error(ErrorCode::kUnavailable, text);
}

}  // namespace

HttpRequest::~HttpRequest() {
  wipe(body);
  for (auto& h : headers) {
    wipe(h);
  }
}

HttpResponse::~HttpResponse() { wipe(body); }

Result<HttpResponse> perform_http(const HttpRequest& request) {
  init_curl_once();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    return make_error(ErrorCode::kInternal, "curl_easy_init failed");
  }
  CURL* c = curl.get();

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  curl_slist* list = nullptr;
  for (const auto& h : request.headers) {
    list = curl_slist_append(list, h.c_str());
  }
  if (!request.body.empty()) {
    list = curl_slist_append(list, "Content-Type: application/json");
  }
  headers.reset(list);

  HttpResponse response;
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  if (!request.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
  }

  const CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    return transport_error(code, c, request.url);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string escape_path_segment(const std::string& segment) {
  std::string out;
  static constexpr std::string_view kUnreserved =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char ch : segment) {
    if (kUnreserved.find(static_cast<char>(ch)) != std::string_view::npos) {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 15]);
    }
  }
  return out;
}

}  // namespace kenc::keybroker::kms::vault
