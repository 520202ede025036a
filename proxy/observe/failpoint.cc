#include "proxy/observe/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "proxy/observe/log.h"

namespace ghostgate::proxy::failpoint {

namespace {

struct Armed {
  Action action;
  std::uint64_t hits = 0;
};

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

// Keyed by name; std::less<> so lookups by string_view do not allocate.
std::map<std::string, Armed, std::less<>>& registry() {
  static std::map<std::string, Armed, std::less<>> r;
  return r;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool parse_uint(std::string_view s, std::uint32_t& out) {
  s = trim(s);
  if (s.empty()) {
    return false;
  }
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool valid_name(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '/';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// ACTION without the N* prefix. `arg` is what stood between the parentheses, if any.
bool parse_action(std::string_view text, Action& action) {
  std::string_view word = text;
  std::optional<std::string_view> arg;
  if (const std::size_t open = text.find('('); open != std::string_view::npos) {
    if (text.back() != ')') {
      return false;
    }
    word = trim(text.substr(0, open));
    arg = text.substr(open + 1, text.size() - open - 2);
  }
  if (word == "off" && !arg) {
    action.kind = Action::Kind::off;
    return true;
  }
  if ((word == "crash" || word == "kill") && !arg) {
    action.kind = Action::Kind::crash;
    return true;
  }
  if (word == "sleep" && arg) {
    action.kind = Action::Kind::sleep;
    return parse_uint(*arg, action.sleep_ms);
  }
  if (word == "error" || word == "return") {
    action.kind = Action::Kind::error;
    action.message = arg ? std::string(*arg) : std::string();
    return true;
  }
  return false;
}

std::string describe_kind(const Action& a) {
  switch (a.kind) {
    case Action::Kind::off:
      return "off";
    case Action::Kind::crash:
      return "crash";
    case Action::Kind::sleep:
      return "sleep(" + std::to_string(a.sleep_ms) + ")";
    case Action::Kind::error:
      return a.message.empty() ? "error" : "error(" + a.message + ")";
  }
  return {};
}

std::string describe(const Action& a) {
  return (a.count ? std::to_string(a.count) + "*" : std::string()) + describe_kind(a) +
         (a.skip ? "@" + std::to_string(a.skip + 1) : std::string());
}

[[noreturn]] void crash_now(std::string_view name) {
  // The log line is what tests (and people) look for; get it out before the process vanishes.
  log_warn(no_conn, "failpoint {}: crash (SIGKILL)", name);
  flush_logs();
  std::fprintf(stderr, "ghostgate: failpoint %.*s: crash (SIGKILL)\n",
               static_cast<int>(name.size()), name.data());
  std::fflush(stderr);
  ::kill(::getpid(), SIGKILL);
  std::_Exit(137);  // not reached: SIGKILL cannot be caught
}

}  // namespace

bool parse(std::string_view spec, std::vector<Entry>& out, std::string& error) {
  std::vector<Entry> entries;
  while (!spec.empty()) {
    const std::size_t semi = spec.find(';');
    const std::string_view raw = spec.substr(0, semi);
    spec = semi == std::string_view::npos ? std::string_view() : spec.substr(semi + 1);
    const std::string_view item = trim(raw);
    if (item.empty()) {
      continue;
    }
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      error = "failpoint entry \"" + std::string(item) + "\" has no '=' (want NAME=ACTION)";
      return false;
    }
    Entry e;
    e.name = std::string(trim(item.substr(0, eq)));
    if (!valid_name(e.name)) {
      error = "failpoint entry \"" + std::string(item) + "\": bad name";
      return false;
    }
    std::string_view action = trim(item.substr(eq + 1));
    if (const std::size_t star = action.find('*');
        star != std::string_view::npos && action.find('(') > star) {
      if (!parse_uint(action.substr(0, star), e.action.count) || e.action.count == 0) {
        error = "failpoint entry \"" + std::string(item) + "\": bad count before '*'";
        return false;
      }
      action = trim(action.substr(star + 1));
    }
    // @K after the action (and after its argument: error(TEXT) may contain an `@`).
    if (const std::size_t at = action.rfind('@');
        at != std::string_view::npos &&
        (action.find(')') == std::string_view::npos || at > action.rfind(')'))) {
      std::uint32_t first = 0;
      if (!parse_uint(action.substr(at + 1), first) || first == 0) {
        error = "failpoint entry \"" + std::string(item) + "\": bad hit number after '@'";
        return false;
      }
      e.action.skip = first - 1;
      action = trim(action.substr(0, at));
    }
    if (!parse_action(action, e.action)) {
      error = "failpoint entry \"" + std::string(item) +
              "\": unknown action (want crash, sleep(MS), error, error(TEXT) or off, "
              "optionally N*ACTION or ACTION@K)";
      return false;
    }
    entries.push_back(std::move(e));
  }
  out = std::move(entries);
  return true;
}

bool configure(std::string_view spec, std::string& error) {
  std::vector<Entry> entries;
  if (!parse(spec, entries, error)) {
    return false;
  }
  std::lock_guard lock(registry_mutex());
  registry().clear();
  bool any = false;
  for (Entry& e : entries) {
    any = any || e.action.kind != Action::Kind::off;
    registry().insert_or_assign(std::move(e.name), Armed{std::move(e.action), 0});
  }
  detail::g_any_armed.store(any, std::memory_order_relaxed);
  return true;
}

void disarm_all() {
  std::lock_guard lock(registry_mutex());
  registry().clear();
  detail::g_any_armed.store(false, std::memory_order_relaxed);
}

void init_from_env() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* value = std::getenv(std::string(env_var).c_str());
    if (value == nullptr || *value == '\0') {
      return;
    }
    std::string error;
    if (!configure(value, error)) {
      std::fprintf(stderr, "ghostgate: %s: %s\n", std::string(env_var).c_str(), error.c_str());
      std::_Exit(2);
    }
    std::fprintf(stderr, "ghostgate: %s armed: %s\n", std::string(env_var).c_str(),
                 describe_armed().c_str());
  });
}

std::string describe_armed() {
  std::lock_guard lock(registry_mutex());
  std::string out;
  for (const auto& [name, armed] : registry()) {
    if (!out.empty()) {
      out += ";";
    }
    out += name + "=" + describe(armed.action);
  }
  return out;
}

std::uint64_t hits(std::string_view name) {
  std::lock_guard lock(registry_mutex());
  auto it = registry().find(name);
  return it == registry().end() ? 0 : it->second.hits;
}

namespace detail {

std::optional<Action> hit_slow(std::string_view name, bool block) {
  Action action;
  {
    std::lock_guard lock(registry_mutex());
    auto it = registry().find(name);
    if (it == registry().end()) {
      return std::nullopt;
    }
    Armed& armed = it->second;
    ++armed.hits;
    const Action& a = armed.action;
    if (a.kind == Action::Kind::off || armed.hits <= a.skip ||
        (a.count != 0 && armed.hits > std::uint64_t{a.skip} + a.count)) {
      return std::nullopt;
    }
    action = armed.action;
  }
  switch (action.kind) {
    case Action::Kind::crash:
      crash_now(name);
    case Action::Kind::sleep:
      log_warn(no_conn, "failpoint {}: sleep {} ms", name, action.sleep_ms);
      if (!block) {
        return action;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(action.sleep_ms));
      return std::nullopt;
    case Action::Kind::error:
      log_warn(no_conn, "failpoint {}: error", name);
      if (action.message.empty()) {
        action.message = "failpoint " + std::string(name);
      }
      return action;
    case Action::Kind::off:
      break;
  }
  return std::nullopt;
}

}  // namespace detail

namespace {
// Armed before main() in every binary that links this file (ghostgate links it through the
// online-DDL service), so no start-up code has to remember it.
const bool env_read = (init_from_env(), true);
}  // namespace

}  // namespace ghostgate::proxy::failpoint
