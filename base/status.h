// Status and Result<T>: how every fallible ncen function reports failure.
//
// A Status is a code plus a one-line message. The codes are few and each is
// named for what the caller should do (docs/design.md §10). Result<T> holds
// either a value or a non-OK Status. Both are plain values: copy and move them
// freely, from any thread.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "base/check.h"

namespace ncen {

enum class StatusCode {
  kOk = 0,
  kNotFound,            // the thing asked for does not exist
  kInvalidArgument,     // the caller's input is wrong: fix it and try again
  kCorruption,          // stored or received bytes are bad: quarantine, never retry
  kIOError,             // the operating system failed us
  kUnavailable,         // try again later (reconnect)
  kUnauthenticated,     // the peer is not who it claims to be: drop it
  kConflict,            // the operation collides with existing state
  kResourceExhausted,   // a limit was reached
  kFailedPrecondition,  // the node is in a state that forbids this (e.g. stale identity)
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "CODE: message", for logs.
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
inline Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status ConflictError(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    NCEN_CHECK(!status_.ok());
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    NCEN_CHECK(ok());
    return *value_;
  }
  const T& value() const& {
    NCEN_CHECK(ok());
    return *value_;
  }
  // By value, so `for (auto& x : F().value())` does not dangle.
  T value() && {
    NCEN_CHECK(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace ncen

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define NCEN_RETURN_IF_ERROR(expr)        \
  do {                                    \
    ::ncen::Status ncen_status_ = (expr); \
    if (!ncen_status_.ok()) return ncen_status_; \
  } while (0)

#define NCEN_CONCAT_INNER(a, b) a##b
#define NCEN_CONCAT(a, b) NCEN_CONCAT_INNER(a, b)
// `NCEN_ASSIGN_OR_RETURN(auto x, F())` — unwraps a Result or returns its Status.
#define NCEN_ASSIGN_OR_RETURN(lhs, expr) \
  NCEN_ASSIGN_OR_RETURN_IMPL(NCEN_CONCAT(ncen_result_, __LINE__), lhs, expr)
#define NCEN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
