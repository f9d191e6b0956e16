// Status and Result<T>: how every library function reports errors a user or the environment can
// cause (bad file, bad config, unsupported dtype, out of memory). Library code never exits.
// Invariant: an ok Status has an empty message; a Result holds exactly one of value or error.
// Tests: tests/unit/core/status_test.cc
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace swaa {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // a value the user gave is wrong (flag, config field, token id)
  kNotFound,         // a file or tensor that should exist does not
  kDataLoss,         // a file exists but is truncated or corrupt
  kUnimplemented,    // valid input the engine does not support (model_type, dtype)
  kResourceExhausted,
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context, e.g. "loading /m/config.json: " + message.
  Status with_context(const std::string& context) const {
    if (ok()) return *this;
    return {code_, context + ": " + message_};
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status data_loss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status resource_exhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace swaa

// Early-return helpers for Status/Result plumbing inside the library.
#define SWAA_CONCAT_INNER(a, b) a##b
#define SWAA_CONCAT(a, b) SWAA_CONCAT_INNER(a, b)
#define SWAA_RETURN_IF_ERROR(expr)          \
  do {                                      \
    ::swaa::Status _swaa_st = (expr);       \
    if (!_swaa_st.ok()) return _swaa_st;    \
  } while (0)
#define SWAA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
#define SWAA_ASSIGN_OR_RETURN(lhs, expr) \
  SWAA_ASSIGN_OR_RETURN_IMPL(SWAA_CONCAT(_swaa_res_, __LINE__), lhs, expr)
