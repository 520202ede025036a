#pragma once
// Room proxy/observe/: what the process tells its operators and its crash tests — logging (this
// file), metrics (metrics.h) and failpoints (failpoint.h). Every room above uses it, so it may
// use only proxy/config/ (the log section). (Arrows: tests/layering/layers.txt.)
//
// Process-wide logging on top of spdlog: one line per record, to stderr or a file, as text
//
//   2026-11-22T10:00:00.123Z info [conn 42] cut-over done table=shop.orders ddls=2
//
// or as one JSON object per line
//
//   {"ts":"2026-11-22T10:00:00.123Z","level":"info","conn":42,"msg":"cut-over done",
//    "table":"shop.orders","ddls":2}
//
// Usage (the format string is checked at compile time by fmt):
//
//   GG_LOG(info, conn_id, "backend {} refused: {}", addr, ec.message());
//   GG_LOG_FIELDS(warn, conn_id, "statement refused", {{"table", name}, {"code", 1105}});
//   log_info(conn_id, "client connected from {}", peer);   // same, as a function
//
// GG_LOG / GG_LOG_FIELDS evaluate neither the arguments nor the format when the level is off: one
// relaxed atomic load. The log_xxx() functions skip formatting but do evaluate their arguments.
// Logging never throws; a record that cannot be formatted or written is dropped.
//
// RULE: passwords, auth data (scrambles, auth responses, auth plugin data, TLS keys) and
// COM_CHANGE_USER payloads are never logged, at any level, not even in hex dumps. Statement text
// may be logged at debug level (it is the user's data, not a credential); statements that carry
// credentials (CREATE USER, ALTER USER, SET PASSWORD, GRANT ... IDENTIFIED BY) must be logged only
// by their kind, never their text. dump_config() masks the backend password for the same reason.
//
// Thread safety: everything here may be called from any thread. init_logging() may be called
// again (SIGHUP) to switch file/format; records in flight go to the old or the new sink.

#include <fmt/format.h>

#include <atomic>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "proxy/config/config.h"

namespace ghostgate::proxy {

enum class LogLevel : int { trace = 0, debug, info, warn, error, critical, off };

// Connection id 0 means "not about a connection": no [conn N] / "conn" field.
inline constexpr std::uint64_t no_conn = 0;

// Opens the sink (stderr when config.file is empty, else appends to the file) and sets format and
// level. Throws std::runtime_error naming the file if it cannot be opened; the previous sink, if
// any, stays in place then. Before the first call, records go to stderr as text at info level.
void init_logging(const LogConfig& config);

// For SIGHUP / the admin endpoint. Accepts trace, debug, info, warn (warning), error, critical,
// off; returns false and changes nothing for anything else.
bool set_log_level(std::string_view level);
LogLevel log_level();
std::string_view to_string(LogLevel level);

// Writes buffered records (both sinks already flush after every record; kept for exit paths).
void flush_logs();

namespace detail {
inline std::atomic<int> g_log_level{static_cast<int>(LogLevel::info)};
}  // namespace detail

inline bool log_enabled(LogLevel level) noexcept {
  return static_cast<int>(level) >= detail::g_log_level.load(std::memory_order_relaxed) &&
         level != LogLevel::off;
}

// A structured field: a key and a string, integer, floating point or boolean value. Values are
// copied into the record; string views must stay valid only for the duration of the call.
class LogValue {
 public:
  enum class Type { string, signed_int, unsigned_int, floating, boolean };

  LogValue(std::string_view v) : type_(Type::string), s_(v) {}    // NOLINT: implicit on purpose
  LogValue(const char* v) : type_(Type::string), s_(v) {}         // NOLINT
  LogValue(const std::string& v) : type_(Type::string), s_(v) {}  // NOLINT
  LogValue(bool v) : type_(Type::boolean), u_(v ? 1 : 0) {}       // NOLINT
  template <std::signed_integral T>
  LogValue(T v) : type_(Type::signed_int), i_(v) {}  // NOLINT
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) LogValue(T v) : type_(Type::unsigned_int), u_(v) {}  // NOLINT
  LogValue(double v) : type_(Type::floating), d_(v) {}                                  // NOLINT

  Type type() const { return type_; }
  std::string_view as_string() const { return s_; }
  std::int64_t as_int() const { return i_; }
  std::uint64_t as_uint() const { return u_; }
  double as_double() const { return d_; }
  bool as_bool() const { return u_ != 0; }

 private:
  Type type_;
  std::string_view s_;
  std::int64_t i_ = 0;
  std::uint64_t u_ = 0;
  double d_ = 0;
};

struct LogField {
  std::string_view key;
  LogValue value;
};

using LogFields = std::initializer_list<LogField>;

// The sink end: writes one record. Never throws. Call through the macros/functions below.
void log_write(LogLevel level, std::uint64_t conn, std::string_view msg, LogFields fields = {});

template <typename... Args>
void log_at(LogLevel level, std::uint64_t conn, fmt::format_string<Args...> format,
            Args&&... args) noexcept {
  if (!log_enabled(level)) {
    return;
  }
  try {
    log_write(level, conn, fmt::format(format, std::forward<Args>(args)...));
  } catch (...) {
    // Logging must not take the caller down (bad_alloc, a throwing formatter): drop the record.
  }
}

template <typename... Args>
void log_trace(std::uint64_t conn, fmt::format_string<Args...> f, Args&&... args) noexcept {
  log_at(LogLevel::trace, conn, f, std::forward<Args>(args)...);
}
template <typename... Args>
void log_debug(std::uint64_t conn, fmt::format_string<Args...> f, Args&&... args) noexcept {
  log_at(LogLevel::debug, conn, f, std::forward<Args>(args)...);
}
template <typename... Args>
void log_info(std::uint64_t conn, fmt::format_string<Args...> f, Args&&... args) noexcept {
  log_at(LogLevel::info, conn, f, std::forward<Args>(args)...);
}
template <typename... Args>
void log_warn(std::uint64_t conn, fmt::format_string<Args...> f, Args&&... args) noexcept {
  log_at(LogLevel::warn, conn, f, std::forward<Args>(args)...);
}
template <typename... Args>
void log_error(std::uint64_t conn, fmt::format_string<Args...> f, Args&&... args) noexcept {
  log_at(LogLevel::error, conn, f, std::forward<Args>(args)...);
}

}  // namespace ghostgate::proxy

// GG_LOG(level, conn, "format {}", args...): level is one of trace, debug, info, warn, error,
// critical. Arguments are not evaluated when the level is disabled.
#define GG_LOG(level, conn, ...)                                                            \
  do {                                                                                      \
    if (::ghostgate::proxy::log_enabled(::ghostgate::proxy::LogLevel::level)) {             \
      ::ghostgate::proxy::log_at(::ghostgate::proxy::LogLevel::level, (conn), __VA_ARGS__); \
    }                                                                                       \
  } while (false)

// GG_LOG_FIELDS(level, conn, "message", {{"key", value}, ...}): a fixed message plus structured
// fields (JSON members, or key=value after the message in text format).
#define GG_LOG_FIELDS(level, conn, msg, ...)                                            \
  do {                                                                                  \
    if (::ghostgate::proxy::log_enabled(::ghostgate::proxy::LogLevel::level)) {         \
      ::ghostgate::proxy::log_write(::ghostgate::proxy::LogLevel::level, (conn), (msg), \
                                    ::ghostgate::proxy::LogFields __VA_ARGS__);         \
    }                                                                                   \
  } while (false)
