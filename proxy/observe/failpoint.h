#pragma once
// Failpoints: named places in the code where a test can make ghostgate crash, stall or fail on
// purpose, to prove that the state it persisted survives exactly those moments (design.md,
// "State, persistence, crash safety"). The same technique as TiDB's failpoint package, without
// code generation:
//
//   if (auto fp = failpoint::hit("after-record-persisted")) { ... an `error` action ... }
//
// Armed from the environment at start-up, never from config (an operator must not be able to
// arm one by accident in a YAML file):
//
//   GHOSTGATE_FAILPOINTS="after-record-persisted=crash;between-cutover-ddls=sleep(500)"
//
// Each entry is NAME=[N*]ACTION[@K], entries separated by `;`:
//   crash       kill -9 ourselves (SIGKILL: no destructors, no flush, like a power cut for the
//               process; the log line announcing it is flushed first)
//   sleep(MS)   wait MS milliseconds, then go on (hit() blocks the thread; evaluate() leaves
//               the wait to a coroutine caller, so other sessions on its thread run meanwhile)
//   error       hit() returns an action the call site turns into a failure
//   error(TEXT) the same with a message
//   off         disarmed (so a list can be edited without removing entries)
//   N*ACTION    only the first N hits act; later ones are ignored
//   ACTION@K    the first K-1 hits are ignored, the K-th is the first to act (N* counts from
//               it): `after-cutover-ddl=crash@3` crashes after the third cut-over DDL, where a
//               plain `crash` would always stop at the first
//
// Cost when nothing is armed: one relaxed atomic load per hit() (the names are compile-time
// strings and are not looked at). Armed failpoints are looked up under a mutex: tests only.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ghostgate::proxy::failpoint {

// The environment variable read by init_from_env().
inline constexpr std::string_view env_var = "GHOSTGATE_FAILPOINTS";

struct Action {
  enum class Kind : std::uint8_t { off, crash, sleep, error };
  Kind kind = Kind::off;
  std::uint32_t sleep_ms = 0;
  std::string message;      // error(TEXT)
  std::uint32_t count = 0;  // N*ACTION: act this many times; 0 = every time
  std::uint32_t skip = 0;   // ACTION@K: the first K-1 hits pass (skip = K-1)

  friend bool operator==(const Action&, const Action&) = default;
};

struct Entry {
  std::string name;
  Action action;

  friend bool operator==(const Entry&, const Entry&) = default;
};

// Parses a GHOSTGATE_FAILPOINTS value. Empty entries (`a=crash;;`) and surrounding spaces are
// allowed. On a syntax error returns false and sets `error` to a message naming the entry.
[[nodiscard]] bool parse(std::string_view spec, std::vector<Entry>& out, std::string& error);

// Replaces every armed failpoint with `spec` (tests; start-up). False + error on bad syntax, in
// which case nothing changes.
[[nodiscard]] bool configure(std::string_view spec, std::string& error);
void disarm_all();

// Reads GHOSTGATE_FAILPOINTS once (later calls do nothing). A bad value is a start-up error:
// prints one message naming the variable to stderr and exits with status 2. Also runs from a
// static initializer in failpoint.cc, so a binary that links any failpoint is armed before
// main(); main() may call it explicitly to make that visible.
void init_from_env();

// The names armed now and their actions, as text for a start-up log line ("" = none).
std::string describe_armed();

namespace detail {
inline std::atomic<bool> g_any_armed{false};
std::optional<Action> hit_slow(std::string_view name, bool block);
}  // namespace detail

// Evaluates failpoint `name`: crash never returns, sleep returns nullopt after sleeping, error
// returns the action (the caller fails the operation with its message). nullopt = carry on.
inline std::optional<Action> hit(std::string_view name) {
  if (!detail::g_any_armed.load(std::memory_order_relaxed)) {
    return std::nullopt;
  }
  return detail::hit_slow(name, true);
}

// The same for a coroutine, which must not block its thread: a sleep is returned (kind sleep)
// for the caller to wait on a timer.
inline std::optional<Action> evaluate(std::string_view name) {
  if (!detail::g_any_armed.load(std::memory_order_relaxed)) {
    return std::nullopt;
  }
  return detail::hit_slow(name, false);
}

// How many times `name` was hit while armed (acted or not), for tests.
std::uint64_t hits(std::string_view name);

}  // namespace ghostgate::proxy::failpoint
