#include "proxy/observe/log.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

namespace ghostgate::proxy {

namespace {

constexpr std::string_view level_names[] = {"trace", "debug",    "info", "warn",
                                            "error", "critical", "off"};

struct Sink {
  std::shared_ptr<spdlog::logger> logger;
  LogFormat format = LogFormat::text;
};

std::shared_ptr<const Sink> make_stderr_sink(LogFormat format) {
  auto logger = std::make_shared<spdlog::logger>("ghostgate",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%v");                // the line is built here; spdlog adds only the newline
  logger->set_level(spdlog::level::trace);  // filtering is done before formatting, in log.h
  logger->flush_on(spdlog::level::trace);   // stderr: every line out at once
  return std::make_shared<const Sink>(Sink{std::move(logger), format});
}

std::atomic<std::shared_ptr<const Sink>>& sink_slot() {
  static std::atomic<std::shared_ptr<const Sink>> slot{make_stderr_sink(LogFormat::text)};
  return slot;
}

std::optional<LogLevel> parse_level(std::string_view name) {
  std::string s(name);
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (s == "warning") {
    return LogLevel::warn;
  }
  for (std::size_t i = 0; i < std::size(level_names); ++i) {
    if (s == level_names[i]) {
      return static_cast<LogLevel>(i);
    }
  }
  return std::nullopt;
}

// 2026-11-22T10:00:00.123Z
void append_timestamp(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 static_cast<int>(ms.count() % 1000));
}

// Text lines stay one line: control characters in messages (statement text) are escaped.
void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          fmt::format_to(std::back_inserter(out), "\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
}

void append_text_value(std::string& out, const LogValue& v) {
  switch (v.type()) {
    case LogValue::Type::string: {
      const std::string_view s = v.as_string();
      const bool plain = !s.empty() && s.find_first_of(" \"=\\") == std::string_view::npos &&
                         std::none_of(s.begin(), s.end(), [](char c) {
                           return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
                         });
      if (plain) {
        out += s;
      } else {
        fmt::format_to(std::back_inserter(out), "{:?}", s);
      }
      break;
    }
    case LogValue::Type::signed_int:
      fmt::format_to(std::back_inserter(out), "{}", v.as_int());
      break;
    case LogValue::Type::unsigned_int:
      fmt::format_to(std::back_inserter(out), "{}", v.as_uint());
      break;
    case LogValue::Type::floating:
      fmt::format_to(std::back_inserter(out), "{}", v.as_double());
      break;
    case LogValue::Type::boolean:
      out += v.as_bool() ? "true" : "false";
      break;
  }
}

std::string format_text(LogLevel level, std::uint64_t conn, std::string_view msg,
                        LogFields fields) {
  std::string out;
  out.reserve(64 + msg.size());
  append_timestamp(out);
  out += ' ';
  out += to_string(level);
  if (conn != no_conn) {
    fmt::format_to(std::back_inserter(out), " [conn {}]", conn);
  }
  out += ' ';
  append_escaped(out, msg);
  for (const LogField& f : fields) {
    out += ' ';
    append_escaped(out, f.key);
    out += '=';
    append_text_value(out, f.value);
  }
  return out;
}

std::string format_json(LogLevel level, std::uint64_t conn, std::string_view msg,
                        LogFields fields) {
  nlohmann::ordered_json j;
  std::string ts;
  append_timestamp(ts);
  j["ts"] = ts;
  j["level"] = to_string(level);
  if (conn != no_conn) {
    j["conn"] = conn;
  }
  j["msg"] = msg;
  for (const LogField& f : fields) {
    std::string key(f.key);
    // Never let a field overwrite the fixed members.
    while (key == "ts" || key == "level" || key == "conn" || key == "msg" || j.contains(key)) {
      key.insert(key.begin(), '_');
    }
    switch (f.value.type()) {
      case LogValue::Type::string:
        j[key] = f.value.as_string();
        break;
      case LogValue::Type::signed_int:
        j[key] = f.value.as_int();
        break;
      case LogValue::Type::unsigned_int:
        j[key] = f.value.as_uint();
        break;
      case LogValue::Type::floating:
        j[key] = f.value.as_double();
        break;
      case LogValue::Type::boolean:
        j[key] = f.value.as_bool();
        break;
    }
  }
  // Statement text is not always valid UTF-8: replace bad bytes rather than throw.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

spdlog::level::level_enum to_spdlog(LogLevel level) {
  return static_cast<spdlog::level::level_enum>(static_cast<int>(level));
}

}  // namespace

std::string_view to_string(LogLevel level) {
  const auto i = static_cast<std::size_t>(level);
  return i < std::size(level_names) ? level_names[i] : "info";
}

void init_logging(const LogConfig& config) {
  const auto level = parse_level(config.level);
  if (!level) {
    throw std::runtime_error(fmt::format("log.level: unknown level \"{}\"", config.level));
  }
  std::shared_ptr<const Sink> sink;
  if (config.file.empty()) {
    sink = make_stderr_sink(config.format);
  } else {
    std::shared_ptr<spdlog::sinks::basic_file_sink_mt> file;
    try {
      file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.file, /*truncate=*/false);
    } catch (const spdlog::spdlog_ex& e) {
      throw std::runtime_error(
          fmt::format("log.file: cannot open \"{}\" for writing: {}", config.file, e.what()));
    }
    auto logger = std::make_shared<spdlog::logger>("ghostgate", std::move(file));
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace);
    // Every line out at once, as on stderr: an operator tailing the file (or a test waiting
    // for a line) must see an event when it happens, and a crash must not eat the last lines
    // before it. Records below the configured level never get here, so at the default level
    // this is a few writes per connection, not per statement.
    logger->flush_on(spdlog::level::trace);
    sink = std::make_shared<const Sink>(Sink{std::move(logger), config.format});
  }
  const auto previous = sink_slot().exchange(std::move(sink));
  if (previous) {
    previous->logger->flush();
  }
  detail::g_log_level.store(static_cast<int>(*level), std::memory_order_relaxed);
}

bool set_log_level(std::string_view name) {
  const auto level = parse_level(name);
  if (!level) {
    return false;
  }
  detail::g_log_level.store(static_cast<int>(*level), std::memory_order_relaxed);
  return true;
}

LogLevel log_level() {
  return static_cast<LogLevel>(detail::g_log_level.load(std::memory_order_relaxed));
}

void flush_logs() {
  try {
    sink_slot().load()->logger->flush();
  } catch (...) {
  }
}

void log_write(LogLevel level, std::uint64_t conn, std::string_view msg, LogFields fields) {
  try {
    const auto sink = sink_slot().load();
    const std::string line = sink->format == LogFormat::json
                                 ? format_json(level, conn, msg, fields)
                                 : format_text(level, conn, msg, fields);
    sink->logger->log(spdlog::source_loc{}, to_spdlog(level), spdlog::string_view_t(line));
  } catch (...) {
    // A full disk or a broken stderr must not end a session: drop the record.
  }
}

}  // namespace ghostgate::proxy
