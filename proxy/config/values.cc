// Value syntax shared by the file and the environment: HOST:PORT, durations, sizes; and the
// wording of the errors about them.

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

#include "proxy/config/config.h"
#include "proxy/config/schema.h"

namespace ghostgate::proxy {

namespace config_detail {

[[noreturn]] void fail(const std::string& message) { throw ConfigError(message); }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string shown(std::string_view s) {
  constexpr std::size_t limit = 80;
  if (s.size() > limit) {
    return fmt::format("{:?}...", s.substr(0, limit));
  }
  return fmt::format("{:?}", s);
}

std::string utf8_error(std::string_view s, std::size_t at, bool secret) {
  if (secret) {
    return fmt::format("not valid UTF-8 (at byte {})", at);
  }
  const auto b = static_cast<unsigned char>(s[at]);
  // yaml-cpp 0.7 decodes YAML's "\_" (U+00A0) and "\N" (U+0085) escapes in double quotes to
  // these single bytes, not to UTF-8: the likeliest cause, so the message names the cure.
  std::string hint;
  if (b == 0xa0 || b == 0x85) {
    hint = fmt::format(" (a \"\\{}\" escape? write \"\\u00{:02X}\" instead)", b == 0xa0 ? '_' : 'N',
                       b);
  }
  return fmt::format("not valid UTF-8: byte 0x{:02X} at offset {} of {}{}", b, at, shown(s), hint);
}

}  // namespace config_detail

using config_detail::lower;
using config_detail::shown;

std::string HostPort::str() const {
  if (host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

HostPort parse_host_port(const std::string& text) {
  const auto bad = [&](std::string_view why) -> ConfigError {
    return ConfigError(
        fmt::format("expected HOST:PORT, got {}{}{}", shown(text), why.empty() ? "" : ": ", why));
  };
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw bad("an IPv6 address is written [ADDR]:PORT");
    }
    host = text.substr(1, close - 1);
    port_text = std::string_view(text).substr(close + 2);
    in6_addr addr{};
    const std::string without_zone = host.substr(0, host.find('%'));
    if (::inet_pton(AF_INET6, without_zone.c_str(), &addr) != 1) {
      throw bad("not an IPv6 address between the brackets");
    }
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      throw bad("no port");
    }
    host = text.substr(0, colon);
    port_text = std::string_view(text).substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      throw bad("an IPv6 address is written [ADDR]:PORT");
    }
    if (host.empty()) {
      throw bad("no host (use 0.0.0.0 or [::] for every interface)");
    }
    for (unsigned char ch : host) {
      if (!(std::isalnum(ch) || ch == '.' || ch == '-' || ch == '_')) {
        throw bad("the host has characters a host name or IPv4 address cannot have");
      }
    }
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size()) {
    throw bad("the port is not a number");
  }
  if (port < 1 || port > 65535) {
    throw bad("the port must be between 1 and 65535");
  }
  return HostPort{std::move(host), static_cast<std::uint16_t>(port)};
}

std::chrono::milliseconds parse_duration(const std::string& text) {
  const auto bad = [&](std::string_view why) -> ConfigError {
    return ConfigError(fmt::format(
        "expected a duration like \"500ms\", \"5s\", \"2m\", \"1h\" or a number of seconds, got "
        "{}{}{}",
        shown(text), why.empty() ? "" : ": ", why));
  };
  constexpr double max_ms = 365.0 * 24 * 3600 * 1000;
  const std::string_view s(text);
  if (s.empty()) {
    throw bad("");
  }
  // A bare integer is a number of seconds (the YAML `connect-timeout: 5` case).
  if (std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
    std::uint64_t seconds = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
    if (ec != std::errc{} || seconds * 1000.0 > max_ms) {
      throw bad("too long");
    }
    return std::chrono::milliseconds(seconds * 1000);
  }
  double total_ms = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t number_start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) {
      ++i;
    }
    double number = 0;
    const auto [end, ec] = std::from_chars(s.data() + number_start, s.data() + i, number);
    if (i == number_start || ec != std::errc{} || end != s.data() + i) {
      throw bad("");
    }
    const std::size_t unit_start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) {
      ++i;
    }
    const std::string_view unit = s.substr(unit_start, i - unit_start);
    double unit_ms = 0;
    if (unit == "ms") {
      unit_ms = 1;
    } else if (unit == "s") {
      unit_ms = 1000;
    } else if (unit == "m") {
      unit_ms = 60'000;
    } else if (unit == "h") {
      unit_ms = 3'600'000;
    } else {
      throw bad(unit.empty() ? "a unit (ms, s, m, h) is missing"
                             : "the unit must be ms, s, m or h");
    }
    total_ms += number * unit_ms;
  }
  if (total_ms > max_ms) {
    throw bad("too long");
  }
  const double rounded = std::round(total_ms);
  if (std::abs(total_ms - rounded) > 1e-6) {
    throw bad("the resolution is 1ms");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(rounded));
}

std::uint64_t parse_size(const std::string& text) {
  const auto bad = [&](std::string_view why) -> ConfigError {
    return ConfigError(
        fmt::format("expected a size like \"1048576\", \"64KiB\", \"16MiB\" or "
                    "\"1GiB\", got {}{}{}",
                    shown(text), why.empty() ? "" : ": ", why));
  };
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (end == text.data() || ec != std::errc{}) {
    throw bad("");
  }
  const std::string unit = lower(std::string_view(end, text.data() + text.size() - end));
  std::uint64_t multiplier = 0;
  if (unit.empty() || unit == "b") {
    multiplier = 1;
  } else if (unit == "k" || unit == "kib") {
    multiplier = 1ull << 10;
  } else if (unit == "m" || unit == "mib") {
    multiplier = 1ull << 20;
  } else if (unit == "g" || unit == "gib") {
    multiplier = 1ull << 30;
  } else {
    throw bad("the unit must be KiB, MiB or GiB");
  }
  if (number > (std::uint64_t{1} << 40) / multiplier) {
    throw bad("too large");
  }
  return number * multiplier;
}

}  // namespace ghostgate::proxy
