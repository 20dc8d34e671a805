#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace kenc {

// What went wrong, for hot-path functions that do not throw. `code` is for callers that react
// (retry, map to a Kafka error); `message` is for humans and logs and never holds secrets.
enum class ErrorCode {
  kInvalidArgument,   // malformed input: bad frame, bad record, bad config value
  kOutOfRange,        // a length or count that runs past the bytes available
  kUnsupported,       // a version or feature we do not handle
  kNotFound,          // unknown key, alias, topic
  kPermissionDenied,  // authorization refused
  kUnavailable,       // a dependency is down; retriable
  kDeadlineExceeded,  // a deadline passed; retriable
  kDataLoss,          // authentication tag or checksum mismatch
  kInternal,          // a bug or an unexpected library failure
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  std::string to_string() const { return std::string(error_code_name(code)) + ": " + message; }
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

// An expected-style value: either a T or an Error. (std::expected is C++23.)
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

  static Status Ok() { return Status(); }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_{ErrorCode::kInternal, {}};
  bool ok_ = true;
};

}  // namespace kenc
