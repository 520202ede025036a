// The operator's actions on one ghost, from the admin endpoint (README, "Online DDL operations"):
// give the DDLs to run at the next cut-over, declare that it needs none, forget the ghost. Each
// runs like a statement that changes the ghost's state: in-process busy mark, backend claim,
// state re-read, change, persisted; and is logged and listed in /online-ddl.

#include <cctype>
#include <nlohmann/json.hpp>

#include "proxy/observe/log.h"
#include "proxy/online_ddl/service.h"
#include "proxy/online_ddl/service_internal.h"
#include "rules/lexer.h"

namespace ghostgate::proxy {

using namespace online_ddl_detail;

namespace {

// The ghost is absent downstream (ghosts are never created there), every other name present
// (its real table): classify_name then judges the ghost's name by the rules alone.
class GhostAbsent final : public rules::Catalog {
 public:
  explicit GhostAbsent(rules::QualifiedName ghost) : ghost_(std::move(ghost)) {}
  std::optional<bool> table_exists(const rules::QualifiedName& name) const override {
    return name != ghost_;
  }

 private:
  rules::QualifiedName ghost_;
};

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

awaitable<OnlineDdlService::ActionResult> OnlineDdlService::operator_action(std::string method,
                                                                            std::string path,
                                                                            std::string body,
                                                                            std::string peer) {
  constexpr std::string_view prefix = "/online-ddl/ghost/";
  if (dry_run_) {
    co_return ActionResult{409, "dry-run keeps no state in the backend; nothing to change\n"};
  }
  if (path.starts_with("/online-ddl/shard/")) {
    ActionResult r =
        co_await shard_action(std::move(method), std::move(path), std::move(body), std::move(peer));
    co_return r;
  }
  if (!path.starts_with(prefix)) {
    co_return ActionResult{404, "not found\n"};
  }
  std::string rest = path.substr(prefix.size());
  std::string what;  // "", "ddls", "applied"
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    what = rest.substr(slash + 1);
    rest.resize(slash);
  }
  rest = percent_decode(rest);
  const auto dot = rest.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == rest.size()) {
    co_return ActionResult{400, "expected /online-ddl/ghost/<schema>.<table>[/ddls|/applied]\n"};
  }
  const QualifiedName ghost{rest.substr(0, dot), rest.substr(dot + 1)};
  const bool forget = method == "DELETE" && what.empty();
  const bool set_ddls = method == "POST" && what == "ddls";
  const bool applied = method == "POST" && what == "applied";
  if (!forget && !set_ddls && !applied) {
    co_return ActionResult{405,
                           "expected POST .../ddls, POST .../applied or DELETE "
                           "/online-ddl/ghost/<schema>.<table>\n"};
  }
  std::vector<std::string> ddls;
  if (set_ddls) {
    try {
      const nlohmann::json j = nlohmann::json::parse(body);
      ddls = j.get<std::vector<std::string>>();
    } catch (const std::exception& e) {
      co_return ActionResult{400, std::string("the body must be a JSON list of DDL statements "
                                              "on the ghost table: ") +
                                      e.what() + "\n"};
    }
    if (ddls.empty()) {
      co_return ActionResult{400, "no DDLs given; use .../applied when none are needed\n"};
    }
  }
  std::string real_hint;
  std::optional<QualifiedName> real;
  if (!forget) {
    GhostAbsent catalog(ghost);
    std::optional<rules::NameClass> c;
    {
      std::lock_guard lock(mutex_);
      c = engine_->classify_name(ghost, catalog);
    }
    if (!c || c->kind != rules::TableKind::ghost) {
      co_return ActionResult{400, rules::quote_name(ghost) +
                                      " is not a ghost table name under the current "
                                      "shadow-table-rules\n"};
    }
    real_hint = c->real_hint;
    real = c->real;
  }
  // Take the ghost as a statement would.
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (busy_ghosts_.insert(ghost).second) {
        break;
      }
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(20));
    error_code ec;
    co_await timer.async_wait(redirect(ec));
  }
  struct Unbusy {
    OnlineDdlService* self;
    QualifiedName ghost;
    ~Unbusy() {
      std::lock_guard lock(self->mutex_);
      self->busy_ghosts_.erase(ghost);
    }
  } unbusy{this, ghost};
  MetaStore::ClaimResult claim = co_await meta_->claim(ghost, claim_timeout);
  if (!claim.claim) {
    co_return ActionResult{503, "cannot claim " + rules::quote_name(ghost) + ": " +
                                    claim.error.value_or("unknown error") + "\n"};
  }
  if (auto err = co_await refresh(ghost)) {
    co_return ActionResult{503, "cannot read the meta table: " + *err + "\n"};
  }
  std::optional<rules::GhostRecord> record;
  std::string done;
  if (!forget) {
    rules::GhostRecord r;
    r.ghost = ghost;
    r.real_hint = real_hint;
    r.real = real;  // a routed shard's ghost: its merge target
    for (const std::string& d : ddls) {
      r.ddls.push_back(rules::qualify_table_refs(d, ghost.schema));
    }
    record = std::move(r);
    done = set_ddls ? "the next cut-over runs " + std::to_string(ddls.size()) + " DDL(s)"
                    : "the next cut-over runs no DDL (applied by hand)";
  } else {
    done = "forgotten";
  }
  {
    // What a partly run cut-over kept of its target's definition no longer holds.
    std::lock_guard lock(mutex_);
    definitions_.erase(ghost);
  }
  // A new decision about this ghost: an older cut-over's tombstone must not answer for it.
  std::optional<std::string> err = co_await meta_->clear_tombstones(ghost);
  if (!err) {
    err = co_await persist(ghost, record, std::nullopt);
  }
  if (err) {
    co_return ActionResult{503, "cannot persist: " + *err + "\n"};
  }
  {
    std::lock_guard lock(mutex_);
    marks_.erase(ghost);
    engine_->restore(ghost, record);
    if (record) {
      since_.emplace(ghost, std::chrono::system_clock::now());
    } else {
      since_.erase(ghost);
    }
    OperatorAction a{std::chrono::system_clock::now(), peer, method + " " + path,
                     rules::quote_name(ghost),         done, ddls};
    actions_.push_back(std::move(a));
    while (actions_.size() > 50) {
      actions_.pop_front();
    }
    metrics().online_ddl_pending.set(static_cast<std::int64_t>(engine_->snapshot().size()));
  }
  if (forget) {
    counters_.forgotten.fetch_add(1, std::memory_order_relaxed);
  }
  log_warn(no_conn, "online-ddl operator action from {}: {} {}: {}: {}", peer, method, path,
           rules::quote_name(ghost), done);
  co_return ActionResult{200, rules::quote_name(ghost) + ": " + done + "\n"};
}

}  // namespace ghostgate::proxy
