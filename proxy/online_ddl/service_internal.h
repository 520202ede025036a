#pragma once
// What the online-DDL service's files share (service.cc, decide.cc, run_statement.cc,
// dry_run.cc); nothing outside proxy/online_ddl/ includes it.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/net/asio.h"
#include "proxy/observe/metrics.h"
#include "proxy/online_ddl/service.h"
#include "rules/classifier.h"
#include "rules/online_ddl.h"

namespace ghostgate::proxy {

// The service's files say `using namespace online_ddl_detail;`.
namespace online_ddl_detail {

using rules::Plan;
using rules::QualifiedName;
using rules::Statement;
using rules::Step;

// A stable id of a statement's text for grepping logs (FNV-1a), never the text itself.
std::string digest(std::string_view text);
// The metrics label of a statement kind.
StatementKind metric_kind(rules::StatementKind k);
// The statement's tables as schema.table, unqualified ones in `db`, for log lines.
std::string describe_tables(const rules::Statement& s, std::string_view db);
// `schema.table`, unquoted: for log lines, messages and the state JSON.
inline std::string dotted(const QualifiedName& q) { return q.schema + "." + q.table; }
// A plan that refuses the statement with ERR 1105 (HY000) and `message`.
rules::Plan refusal(std::string message, std::string_view reason = {});
// A failpoint (proxy/observe/failpoint.h) on a coroutine path: its error as text; a sleep waits
// on a timer so that the other sessions of this thread go on meanwhile. `name` is a literal.
awaitable<std::optional<std::string>> failpoint_at(const char* name);

}  // namespace online_ddl_detail

// What exists downstream, as seen through the replicator's own connection (its privileges),
// cached briefly. Every DDL that passes through clears it.
class OnlineDdlService::CachedCatalog final : public rules::Catalog {
 public:
  std::optional<bool> table_exists(const rules::QualifiedName& name) const override {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.expires < std::chrono::steady_clock::now()) {
      return std::nullopt;
    }
    return it->second.exists;
  }
  void store(const rules::QualifiedName& name, bool exists) {
    std::lock_guard lock(mutex_);
    entries_[name] = {exists,
                      std::chrono::steady_clock::now() + (exists ? positive_ttl : negative_ttl)};
  }
  void clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
  }

 private:
  static constexpr auto positive_ttl = std::chrono::seconds(60);
  static constexpr auto negative_ttl = std::chrono::seconds(2);
  struct Entry {
    bool exists;
    std::chrono::steady_clock::time_point expires;
  };
  mutable std::mutex mutex_;
  std::map<rules::QualifiedName, Entry> entries_;
};

// dry-run forwards what a real run suppresses, so the backend no longer holds what a real run's
// downstream would: the ghost and changelog tables exist there (their CREATE went through), the
// real table that a cut-over renamed to a trash name is gone. Judged on the backend's catalog
// alone, the ghost's ALTER would look like DDL on a real table (a helper's name that exists
// downstream is a real table that merely looks like one). This keeps the names whose existence
// differs from the backend's and answers for them. Guarded by the service's mutex_.
class OnlineDdlService::DryRunCatalog final : public rules::Catalog {
 public:
  explicit DryRunCatalog(const CachedCatalog& backend) : backend_(backend) {}
  std::optional<bool> table_exists(const rules::QualifiedName& name) const override {
    if (auto it = differs_.find(name); it != differs_.end()) {
      return it->second;
    }
    return backend_.table_exists(name);
  }
  void set(const rules::QualifiedName& name, bool exists) { differs_[name] = exists; }
  void same(const rules::QualifiedName& name) { differs_.erase(name); }
  void clear() { differs_.clear(); }
  void same_schema(std::string_view schema) {
    std::erase_if(differs_, [&](const auto& entry) { return entry.first.schema == schema; });
  }

 private:
  const CachedCatalog& backend_;
  std::map<rules::QualifiedName, bool> differs_;
};

struct OnlineDdlService::StatementResult {
  bool forwarded = false;  // the plan was "forward": the caller sends it
  bool error = false;      // an ERR was appended: a batch stops here
  bool close = false;
};

}  // namespace ghostgate::proxy
