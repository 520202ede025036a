// The online-DDL engine (rules/online_ddl.h) driven like the proxy drives it, by a sequence of
// statements built from the fuzzer's bytes with a grammar of online-schema-change shapes (CREATE
// TABLE _x_gho LIKE x, ALTER TABLE _x_gho ..., DML on real/ghost/trash tables, RENAME TABLE with
// up to three pairs (Vitess's rotation), DROP TABLE, triggers of pt-osc/LHM/oak, TRUNCATE, USE,
// tool marker comments, ...) on a small universe of names (real names, every helper form of them
// for every built-in tool - gh-ost, pt-osc, Spirit, LHM, Vitess, Bytebase, DMS, oak - names cut to
// 64 bytes, look-alikes, names that need quoting, Vitess's `_vt` schema), written qualified or
// not, quoted or not, with comments. A simulated
// downstream (the set of tables that exist) runs what is forwarded and the plans' backend
// statements; the Catalog answers from it, but only for names already looked up (so plans ask,
// as in the proxy). Backend statements and persistence can be made to fail, then retried.
//
// Invariants checked on every statement (besides ASan/UBSan):
//  1. plan() converges: need_lookup lists names not yet answered; after answering, no more.
//  2. A suppressed statement never targets a table that exists downstream: DML, TRUNCATE,
//     ALTER/CREATE INDEX/DROP INDEX (recorded or not), CREATE TABLE. A DROP TABLE or RENAME
//     TABLE leaves out an existing table only as the design allows (deferred drop_swap DROP;
//     RENAME real TO trash).
//     Exception: a child table's ALTER whose REFERENCES names a ghost is not run as written.
//  3. Every backend statement of a plan is accounted for: a recorded DDL of the ghost being cut
//     over, as replay_ddl() makes it (rewritten onto the RENAME's target, no ALGORITHM=/LOCK=),
//     run in order from the first one not yet applied (skipping only the ones with nothing to
//     replay), each followed by its progress step, all of them before the ghost is forgotten
//     (none lost, none run twice, none that was not recorded); or the statement's own real
//     RENAME pairs / real DROP tables / maintenance tables; or a deferred DROP released by
//     forgetting its ghost; or DROP DATABASE itself; or the DROP of a real table renamed to a
//     Vitess table-GC name; or a child ALTER with its ghost references replaced by their real
//     tables. All its table names are qualified (it runs on any pooled connection).
//  4. record steps only come from ALTER / CREATE INDEX / DROP INDEX of the statement's target,
//     with the statement's unqualified names qualified; defer_drop only for the DROP of a
//     pending ghost's real table; forget only for a helper the statement names; bind only for
//     the target of a CREATE TABLE whose name a rule matches, or for a RENAME pair's target.
//  5. The registry equals a model kept from the documented step semantics, including
//     restore() after a failed persist; records are well-formed.
//  6. Persistence round trip: an engine load()ed from snapshot() has the same snapshot and
//     makes the same plan, always; a "restart" op continues on such an engine.
#include "rules/online_ddl.h"

#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "rules/classifier.h"
#include "rules/lexer.h"
#include "rules/table_rules.h"

using namespace ghostgate::rules;
using ghostgate::fuzz::Input;

namespace {

// ---------------------------------------------------------------------------------------------
// Names

const std::string kLong62 = "long_table_name_" + std::string(46, 'x');  // 62 bytes
const std::string kLong60 = "long_table_name_" + std::string(44, 'y');  // 60 bytes
const std::array<std::string, 8> kBases = {"t",     "u",      "parent", kLong62,
                                           kLong60, "we`ird", "a b",    "T"};
// The third is Vitess's sidecar schema (and stands in for Bytebase's bbdataarchive: a schema
// where only helpers live).
constexpr std::array<std::string_view, 3> kSchemas = {"test", "db2", "_vt"};
const std::string kUuid = "6ace8bcef73211ea87e9f875a4d24e90";

std::string helper_name(const std::string& base, unsigned form) {
  switch (form % 32) {
    case 0:
      return base;
    case 1:
      return "_" + base + "_gho";
    case 2:
      return "_" + base + "_ghc";
    case 3:
      return "_" + base + "_del";
    case 4:
      return "_" + base + "_new";
    case 5:
      return "_" + base + "_old";
    case 6:
      return "__" + base + "_new";
    case 7:
      return "__" + base + "_old";
    case 8:
      return "_" + base + "_20260101101010_del";
    case 9:
      return "_" + base + "_rev_del";
    case 10:
      return "_" + base + "_ghk";
    case 11:
      return ("_" + base + "_new").substr(0, max_name_length);  // pt-osc cut
    case 12:
      return ("__" + base + "_old").substr(0, max_name_length);  // pt-osc cut, retried
    case 13:
      return "_" + base.substr(0, max_name_length - 5) + "_gho";  // gh-ost shortened
    case 14:
      return "_" + base + "_gho_x";  // look-alikes
    case 15:
      return base + "_gho";
    // Other tools (rules/TOOLS.md).
    case 16:
      return ("lhmn_" + base).substr(0, max_name_length);
    case 17:
      return ("lhma_2026_01_02_03_04_05_678_" + base).substr(0, max_name_length);
    case 18:
      return "_vt_vrp_" + kUuid + "_20260102030405_";
    case 19:
      return "_vt_hld_" + kUuid + "_20260102030406_";
    case 20:
      return "~" + base + "_gho";
    case 21:
      return "~" + base + "_del";
    case 22:
      return "tp_7_ogt_" + base;
    case 23:
      return "tp_7_del_" + base;
    case 24:
      return "__oak_" + base;
    case 25:
      return "__arc_" + base;
    case 26:
      return "_" + base + "_chkpnt";
    case 27:
      return "_spirit_checkpoint";
    case 28:
      return "Q7ZK2M___________" + base + "_old";
    case 29:
      return "_vt_prg_" + kUuid.substr(0, 31) + "a_20260102030407_";
    case 30:  // gh-ost --force-table-names=F<base>: the captures name no table
      return "_F" + base + "_gho";
    default:
      return "_F" + base + "_del";
  }
}

bool bare_ok(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (!((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
          u == '$')) {
      return false;
    }
  }
  return true;
}

std::string quoted(std::string_view name) {
  std::string out;
  append_quoted_identifier(out, name);
  return out;
}

// FUZZ_TRACE=1 prints every statement and plan (to read a crashing input).
bool trace() {
  static const bool on = std::getenv("FUZZ_TRACE") != nullptr;
  return on;
}

// ---------------------------------------------------------------------------------------------
// Statement grammar

class Gen {
 public:
  explicit Gen(Input& in) : in_(in) {}

  unsigned byte() { return static_cast<unsigned>(in_.take(1)); }

  // Two bytes: base + form, then how it is written.
  std::string name() {
    const unsigned a = byte();
    const unsigned b = byte();
    const std::string table = helper_name(kBases[a % kBases.size()], a / 8);
    std::string out;
    const unsigned qual = b & 3;
    if (qual != 0) {
      const std::string_view schema = kSchemas[qual - 1];
      out += (b & 8) ? quoted(schema) : std::string(schema);
      out += (b & 16) ? " /* x */ . " : ".";
    }
    out += ((b & 4) || !bare_ok(table)) ? quoted(table) : table;
    return out;
  }

  std::string kw(std::string_view upper) {
    std::string s(upper);
    if (lower_) {
      for (char& c : s) {
        if (c >= 'A' && c <= 'Z') {
          c = static_cast<char>(c + 32);
        }
      }
    }
    return s;
  }

  std::string statement(unsigned op, std::string_view db) {
    const unsigned style = byte();
    lower_ = (style & 1) != 0;
    const std::string tool = (style & 2) ? " /* gh-ost */" : "";
    const unsigned v = byte();
    switch (op % 26) {
      case 0:
        return kw("CREATE") + tool + " " + kw("TABLE") + " " + name() + " " + kw("LIKE") + " " +
               name();
      case 1:
        return kw("CREATE TABLE ") + ((v & 1) ? kw("IF NOT EXISTS ") : "") + name() +
               " (id int primary key, a int)";
      case 2:
        return kw("CREATE TEMPORARY TABLE ") + name() + " (id int)";
      case 3: {
        std::string s = kw("ALTER") + tool + " " + kw("TABLE") + " " + name() + " ";
        switch (v % 8) {
          case 0:
            return s + kw("ADD COLUMN ") + "c" + std::to_string(v) + " int";
          case 1:
            return s + kw("ADD INDEX ") + "ix_b(b)";
          case 2:
            return s + "AUTO_INCREMENT=" + std::to_string(500 + v);
          case 3:
            return s + kw("DROP COLUMN ") + "d";
          case 4:
            return s + kw("ADD FOREIGN KEY ") + "(a) " + kw("REFERENCES ") + name() + "(id)";
          case 5:
            return s + "ENGINE=InnoDB";
          case 6:
            return s + kw("MODIFY ") + "b bigint, " + kw("ADD COLUMN ") + "c2 int";
          default:
            return s + "COMMENT '" + name() + "'";
        }
      }
      case 4: {
        static constexpr std::array<std::string_view, 3> how = {"", "TO ", "AS "};
        return kw("ALTER") + tool + " " + kw("TABLE") + " " + name() + " " + kw("RENAME ") +
               kw(how[v % 3]) + name();
      }
      case 5:
        return kw("ALTER TABLE ") + name() + " " + kw("ADD COLUMN ") + "x int, " +
               kw("RENAME TO ") + name();
      case 6: {
        std::string s = kw("RENAME") + tool + " " + kw("TABLE") + " ";
        const unsigned pairs = 1 + v % 3;
        for (unsigned i = 0; i < pairs; ++i) {
          s += (i > 0 ? ", " : "") + name() + " " + kw("TO") + " " + name();
        }
        return s;
      }
      case 7: {
        std::string s = kw("DROP TABLE ") + ((v & 1) ? kw("IF EXISTS ") : "");
        const unsigned n = 1 + (v / 2) % 3;
        for (unsigned i = 0; i < n; ++i) {
          s += (i > 0 ? ", " : "") + name();
        }
        return s + ((v & 8) ? " /* generated by server */" : "");
      }
      case 8:
        return kw("DROP TEMPORARY TABLE ") + name();
      case 9:
        switch (v % 4) {
          case 0:
            return kw("INSERT INTO ") + name() + " (`id`,`a`) " + kw("VALUES ") + "(1,2)";
          case 1:
            return kw("REPLACE INTO ") + name() + " (`id`) " + kw("VALUES ") + "(3)";
          case 2:
            return kw("INSERT IGNORE INTO ") + name() + " " + kw("SELECT") + " * " + kw("FROM ") +
                   name();
          default:
            return kw("INSERT INTO ") + name() + " " + kw("VALUES ") + "(?)";
        }
      case 10:
        switch (v % 3) {
          case 0:
            return kw("UPDATE ") + name() + " " + kw("SET ") + "`a`=1 " + kw("WHERE ") + "`id`=1 " +
                   kw("LIMIT ") + "1";
          case 1:
            return kw("UPDATE ") + name() + ", " + name() + " " + kw("SET ") + "a=1";
          default:
            return kw("UPDATE ") + name() + " x " + kw("JOIN ") + name() + " y " + kw("ON ") +
                   "x.id=y.id " + kw("SET ") + "x.a=1";
        }
      case 11:
        switch (v % 3) {
          case 0:
            return kw("DELETE FROM ") + name() + " " + kw("WHERE ") + "`id`=1 " + kw("LIMIT ") +
                   "1";
          case 1:
            return kw("DELETE ") + "x " + kw("FROM ") + name() + " x " + kw("JOIN ") + name() +
                   " y " + kw("ON ") + "x.id=y.id";
          default:
            return kw("DELETE FROM ") + name() + " " + kw("USING ") + name() + ", " + name();
        }
      case 12: {
        const std::string on = name();
        std::string trigger;
        const std::string& base = kBases[(v >> 4) % kBases.size()];
        if ((v & 9) == 1) {
          trigger = "pt_osc_" + std::string(db.empty() ? "test" : db) + "_" + base +
                    ((v & 2) ? "_ins" : "_upd");
        } else if ((v & 9) == 9) {
          trigger = (v & 2) ? "lhmt_ins_" + base : base + "_AI_oak";
        } else {
          trigger = "trg" + std::to_string(v % 5);
        }
        return kw("CREATE ") + ((v & 4) ? "DEFINER=`gh`@`localhost` " : "") + kw("TRIGGER ") +
               quoted(trigger) + " " + kw("AFTER INSERT ON ") + on + " " +
               kw("FOR EACH ROW REPLACE INTO ") + name() + " (`id`) " + kw("VALUES ") +
               "(NEW.`id`)";
      }
      case 13: {
        static constexpr std::array<std::string_view, 4> names = {"pt_osc_test_t_del", "trg1",
                                                                  "lhmt_del_t", "t_AD_oak"};
        const std::string trigger(names[v % 4]);
        return kw("DROP TRIGGER ") + ((v & 4) ? kw("IF EXISTS ") : "") +
               ((v & 8) ? "`test`." : "") + quoted(trigger);
      }
      case 14:
        return kw("TRUNCATE ") + ((v & 1) ? kw("TABLE ") : "") + name();
      case 15:
        return kw("USE ") + quoted(kSchemas[v % 3]);
      case 16:
        return (v & 1) ? kw("CREATE INDEX ") + "ix " + kw("ON ") + name() + " (a)"
                       : kw("DROP INDEX ") + "ix " + kw("ON ") + name();
      case 17:
        return (v & 1) ? kw("LOCK TABLES ") + name() + " " + kw("WRITE") + ", " + name() + " " +
                             kw("READ")
                       : kw("UNLOCK TABLES");
      case 18:
        return ((v & 1) ? kw("ANALYZE TABLE ") : kw("OPTIMIZE TABLE ")) + name() + ", " + name() +
               ((v & 2) ? " /* pt-online-schema-change */" : "");
      case 19:
        return ((v & 1) ? kw("DROP DATABASE ") : kw("CREATE DATABASE ")) +
               quoted(kSchemas[(v / 2) % 2]);
      case 20:
        return kw("LOAD DATA INFILE ") + "'f' " + kw("INTO TABLE ") + name();
      case 21:
        return (v & 1) ? kw("BEGIN") : kw("COMMIT");
      case 22:
        return kw("SELECT") + " * " + kw("FROM ") + name();
      case 23:
        return kw("CREATE TABLE ") + name() + " (id int, " + kw("FOREIGN KEY ") + "(id) " +
               kw("REFERENCES ") + name() + " (id))";
      default: {
        // Raw text, 2-byte length: anything the fuzzer likes (trace statements in the seeds).
        const std::size_t n = v | (byte() << 8);
        return in_.take_string(std::min<std::size_t>(n, 4096));
      }
    }
  }

 private:
  Input& in_;
  bool lower_ = false;
};

// ---------------------------------------------------------------------------------------------
// Downstream

using Tables = std::set<QualifiedName>;

std::optional<QualifiedName> resolve(const TableRef& r, std::string_view db) {
  const std::string_view schema = r.schema.empty() ? db : r.schema;
  if (schema.empty()) {
    return std::nullopt;
  }
  return QualifiedName{std::string(schema), std::string(r.table)};
}

bool names_a_table(RefRole role) { return role != RefRole::database && role != RefRole::trigger; }

// Runs `sql` against the simulated downstream (only what changes which tables exist); false if
// the server would fail it.
bool execute(Tables& tables, std::string_view sql, std::string_view db) {
  const Statement s = classify(sql);
  if (s.temporary) {
    return true;  // session-local, never in the catalog
  }
  std::vector<std::pair<std::optional<QualifiedName>, RefRole>> refs;
  for (const TableRef& r : s.tables()) {
    refs.emplace_back(resolve(r, db), r.role);
  }
  auto exists = [&](const std::optional<QualifiedName>& q) {
    return q.has_value() && tables.count(*q) > 0;
  };
  switch (s.kind) {
    case StatementKind::create_table: {
      if (refs.empty() || !refs[0].first) {
        return false;
      }
      if (exists(refs[0].first)) {
        return s.if_not_exists;
      }
      for (const auto& [q, role] : refs) {
        if (role == RefRole::like_source && !exists(q)) {
          return false;
        }
      }
      tables.insert(*refs[0].first);
      return true;
    }
    case StatementKind::drop_table: {
      for (const auto& [q, role] : refs) {
        if (!q || (!s.if_exists && !exists(q))) {
          return false;
        }
      }
      for (const auto& [q, role] : refs) {
        tables.erase(*q);
      }
      return !refs.empty();
    }
    case StatementKind::rename_table: {
      Tables copy = tables;
      for (std::size_t i = 0; i + 1 < refs.size(); i += 2) {
        const auto& from = refs[i].first;
        const auto& to = refs[i + 1].first;
        if (!from || !to || copy.count(*from) == 0 || copy.count(*to) != 0) {
          return false;
        }
        copy.erase(*from);
        copy.insert(*to);
      }
      tables = std::move(copy);
      return true;
    }
    case StatementKind::alter_table: {
      if (refs.empty() || !exists(refs[0].first)) {
        return false;
      }
      for (const auto& [q, role] : refs) {
        if (role == RefRole::rename_to) {
          if (!q || tables.count(*q) != 0) {
            return false;
          }
          tables.erase(*refs[0].first);
          tables.insert(*q);
          break;
        }
      }
      return true;
    }
    case StatementKind::create_index:
    case StatementKind::drop_index:
    case StatementKind::truncate:
    case StatementKind::table_maintenance:
      for (const auto& [q, role] : refs) {
        if (role == RefRole::target && !exists(q)) {
          return false;
        }
      }
      return true;
    case StatementKind::drop_database: {
      const TableRef* d = s.first(RefRole::database);
      if (d == nullptr) {
        return false;
      }
      for (auto it = tables.begin(); it != tables.end();) {
        it = it->schema == d->schema ? tables.erase(it) : std::next(it);
      }
      return true;
    }
    default:
      return true;
  }
}

// Answers only for names already looked up, like the proxy's cache.
class FuzzCatalog : public Catalog {
 public:
  explicit FuzzCatalog(const Tables& truth) : truth_(truth) {}
  std::optional<bool> table_exists(const QualifiedName& name) const override {
    if (known_.count(name) == 0) {
      return std::nullopt;
    }
    return truth_.count(name) > 0;
  }
  bool knows(const QualifiedName& name) const { return known_.count(name) != 0; }
  void learn(const QualifiedName& name) { known_.insert(name); }
  void forget_all() { known_.clear(); }

 private:
  const Tables& truth_;
  Tables known_;
};

// ---------------------------------------------------------------------------------------------
// Checks

using Model = std::map<QualifiedName, GhostRecord>;

bool same_step(const Step& a, const Step& b) {
  return a.kind == b.kind && a.ghost == b.ghost && a.target == b.target && a.sql == b.sql &&
         a.real_hint == b.real_hint && a.applied == b.applied && a.bound_kind == b.bound_kind;
}

bool same_plan(const Plan& a, const Plan& b) {
  if (a.verdict != b.verdict || a.steps.size() != b.steps.size() || a.lookups != b.lookups ||
      a.error_code != b.error_code || a.sql_state != b.sql_state ||
      a.error_message != b.error_message || a.implicit_commit != b.implicit_commit ||
      a.reason != b.reason || a.revert.has_value() != b.revert.has_value() ||
      (a.revert &&
       (a.revert->table != b.revert->table || a.revert->old_table != b.revert->old_table))) {
    return false;
  }
  for (std::size_t i = 0; i < a.steps.size(); ++i) {
    if (!same_step(a.steps[i], b.steps[i])) {
      return false;
    }
  }
  return true;
}

void check_registry(const Engine& engine, const Model& model) {
  const std::vector<GhostRecord> snap = engine.snapshot();
  FUZZ_CHECK(snap.size() == model.size());
  std::size_t i = 0;
  for (const auto& [key, rec] : model) {
    FUZZ_CHECK(snap[i] == rec);
    FUZZ_CHECK(rec.ghost == key);
    FUZZ_CHECK(!key.schema.empty() && !key.table.empty());
    // A record is made by a record step (one DDL at least) or a bind step (none: a ghost bound
    // by CREATE ... LIKE or a tool's marker, or a trash helper, which never holds any).
    FUZZ_CHECK(rec.applied <= rec.ddls.size());
    FUZZ_CHECK(rec.kind == TableKind::ghost || (rec.kind == TableKind::trash && rec.ddls.empty()));
    FUZZ_CHECK(rec.bound_by.empty() || rec.kind == TableKind::trash);
    FUZZ_CHECK(!rec.real || (!rec.real->schema.empty() && !rec.real->table.empty()));
    if (rec.deferred_drop) {
      FUZZ_CHECK(*rec.deferred_drop == real_of(rec));
      FUZZ_CHECK(rec.deferred_drop_sql == "DROP TABLE IF EXISTS " + quote_name(*rec.deferred_drop));
    }
    const GhostRecord* found = engine.find(key);
    FUZZ_CHECK(found != nullptr && *found == rec);
    ++i;
  }
}

void apply_to_model(Model& model, const Step& step) {
  switch (step.kind) {
    case Step::Kind::backend_sql:
      break;
    case Step::Kind::record: {
      auto [it, inserted] = model.try_emplace(step.ghost);
      if (inserted) {
        it->second.ghost = step.ghost;
        it->second.real_hint = step.real_hint;
      }
      it->second.ddls.push_back(step.sql);
      break;
    }
    case Step::Kind::forget:
      model.erase(step.ghost);
      break;
    case Step::Kind::defer_drop:
      if (auto it = model.find(step.ghost); it != model.end()) {
        it->second.deferred_drop = step.target;
        it->second.deferred_drop_sql = step.sql;
      }
      break;
    case Step::Kind::cutover_progress:
      if (auto it = model.find(step.ghost); it != model.end()) {
        it->second.applied = step.applied;
      }
      break;
    case Step::Kind::bind: {
      GhostRecord rec;
      rec.ghost = step.ghost;
      rec.real_hint = step.real_hint;
      rec.kind = step.bound_kind;
      rec.bound_by = step.sql;
      if (!step.target.table.empty()) {
        rec.real = step.target;
      }
      model[step.ghost] = rec;
      break;
    }
  }
}

struct Pair {
  QualifiedName from;
  QualifiedName to;
};

struct Context {
  const Statement& st;
  std::string_view db;
  const Tables& truth;
  const Model& model;
  const Engine& engine;
  const FuzzCatalog& catalog;
  std::vector<std::optional<QualifiedName>> names;  // per reference, resolved like the engine
  std::vector<Pair> pairs;                          // RENAME pairs (or ALTER ... RENAME)

  bool is_target(const QualifiedName& q) const {
    const auto refs = st.tables();
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (refs[i].role == RefRole::target && names[i] == q) {
        return true;
      }
    }
    return false;
  }
  bool names_it(const QualifiedName& q) const {
    for (const auto& n : names) {
      if (n == q) {
        return true;
      }
    }
    return false;
  }
  bool is_pair(const QualifiedName& from, const QualifiedName& to) const {
    for (const Pair& p : pairs) {
      if (p.from == from && p.to == to) {
        return true;
      }
    }
    return false;
  }
  NameClass class_of(const QualifiedName& q) const {
    const auto c = engine.classify_name(q, catalog);
    FUZZ_CHECK(c.has_value());  // plan() asked for everything it needed
    return *c;
  }
  TableKind kind_of(const QualifiedName& q) const { return class_of(q).kind; }

  // A child table's ALTER whose REFERENCES names a ghost: the statement with each ghost reference
  // replaced by its real table (nullopt when a ghost's real table is unknown: suppressed).
  std::optional<std::string> child_rewrite() const {
    std::string sql = qualify_table_refs(st.text, db);
    const auto refs = st.tables();
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (refs[i].role != RefRole::references || !names[i] ||
          kind_of(*names[i]) != TableKind::ghost) {
        continue;
      }
      const NameClass cls = class_of(*names[i]);
      QualifiedName real = cls.real ? *cls.real : QualifiedName{names[i]->schema, cls.real_hint};
      if (const auto rec = model.find(*names[i]); rec != model.end()) {
        real = real_of(rec->second);
      }
      if (real.table.empty()) {
        return std::nullopt;
      }
      sql = rewrite_ddl(sql, *names[i], "", real);
    }
    return sql;
  }
  bool references_a_ghost() const {
    const auto refs = st.tables();
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (refs[i].role == RefRole::references && names[i] &&
          kind_of(*names[i]) == TableKind::ghost) {
        return true;
      }
    }
    return false;
  }
};

// The first DDL from `j` on that replay_ddl() would run (ddls.size() when none is left).
std::size_t next_replayed(const GhostRecord& rec, std::size_t j, const QualifiedName& target) {
  while (j < rec.ddls.size() && !replay_ddl(rec.ddls[j], rec.ghost, target)) {
    ++j;
  }
  return j;
}

Context make_context(const Statement& st, std::string_view db, const Tables& truth,
                     const Model& model, const Engine& engine, const FuzzCatalog& catalog) {
  Context c{st, db, truth, model, engine, catalog, {}, {}};
  std::string_view trigger_schema;
  for (const TableRef& r : st.tables()) {
    if (r.role == RefRole::trigger) {
      trigger_schema = r.schema;
    }
  }
  // An unqualified REFERENCES table is in the altered/created table's schema.
  const TableRef* subject = st.first(RefRole::target);
  for (const TableRef& r : st.tables()) {
    std::string_view d = db;
    if (r.role == RefRole::trigger_table && !trigger_schema.empty()) {
      d = trigger_schema;
    } else if (r.role == RefRole::references && subject != nullptr && !subject->schema.empty()) {
      d = subject->schema;
    }
    c.names.push_back(names_a_table(r.role) ? resolve(r, d) : std::nullopt);
  }
  const auto refs = st.tables();
  for (std::size_t i = 0; i + 1 < refs.size(); ++i) {
    if (refs[i].role == RefRole::rename_from && refs[i + 1].role == RefRole::rename_to &&
        c.names[i] && c.names[i + 1]) {
      c.pairs.push_back({*c.names[i], *c.names[i + 1]});
    }
  }
  if (st.kind == StatementKind::alter_table) {
    const TableRef* to = st.first(RefRole::rename_to);
    if (!refs.empty() && to != nullptr && c.names[0] && c.names[to - refs.data()]) {
      c.pairs.push_back({*c.names[0], *c.names[to - refs.data()]});
    }
  }
  return c;
}

bool is_dml(StatementKind k) {
  return k == StatementKind::insert || k == StatementKind::replace || k == StatementKind::update ||
         k == StatementKind::delete_rows || k == StatementKind::load_data;
}

// Invariants 2-4 on a local plan, before it runs.
void check_local_plan(const Context& c, const Plan& p) {
  const Statement& st = c.st;
  FUZZ_CHECK(p.implicit_commit == st.is_ddl);
  FUZZ_CHECK(p.lookups.empty() && p.error_code == 0);
  const auto refs = st.tables();
  auto target_missing_downstream = [&]() {
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (refs[i].role == RefRole::target) {
        FUZZ_CHECK(c.names[i].has_value() && c.truth.count(*c.names[i]) == 0);
      }
    }
  };
  const bool alter_rename =
      st.kind == StatementKind::alter_table && st.first(RefRole::rename_to) != nullptr;

  // Invariant 2: suppressing loses nothing that exists downstream. A child table's constraint on
  // a ghost runs rewritten onto the real table (or, that unknown, is suppressed).
  const bool child_constraint = st.kind == StatementKind::alter_table && !alter_rename &&
                                !refs.empty() && c.names[0] &&
                                c.kind_of(*c.names[0]) == TableKind::real;
  if (child_constraint) {
    FUZZ_CHECK(c.references_a_ghost());
    const std::optional<std::string> sql = c.child_rewrite();
    FUZZ_CHECK(sql ? (p.steps.size() == 1 && p.steps[0].kind == Step::Kind::backend_sql &&
                      p.steps[0].sql == *sql)
                   : p.steps.empty());
    return;
  }
  if (is_dml(st.kind) || st.kind == StatementKind::truncate ||
      st.kind == StatementKind::create_index || st.kind == StatementKind::drop_index ||
      st.kind == StatementKind::create_table ||
      (st.kind == StatementKind::alter_table && !alter_rename)) {
    target_missing_downstream();
  }
  if (is_dml(st.kind) || st.kind == StatementKind::truncate ||
      st.kind == StatementKind::create_trigger || st.kind == StatementKind::drop_trigger) {
    FUZZ_CHECK(p.steps.empty());
  }

  // Invariants 3 and 4, step by step.
  std::map<QualifiedName, std::size_t> next_ddl;  // ghost -> next recorded DDL to run
  std::set<QualifiedName> forgotten;
  std::vector<QualifiedName> dropped;   // by backend DROP steps
  std::vector<Pair> renamed;            // by backend RENAME steps
  std::vector<QualifiedName> deferred;  // by defer_drop steps
  std::vector<QualifiedName> bound;     // by bind steps
  for (std::size_t i = 0; i < p.steps.size(); ++i) {
    const Step& step = p.steps[i];
    switch (step.kind) {
      case Step::Kind::backend_sql: {
        const Statement b = classify(step.sql);
        for (const TableRef& r : b.tables()) {
          FUZZ_CHECK(!names_a_table(r.role) || !r.schema.empty());  // runs on any connection
        }
        if (i + 1 < p.steps.size() && p.steps[i + 1].kind == Step::Kind::cutover_progress) {
          // A recorded DDL of the ghost being cut over, in order, onto the RENAME's target.
          const QualifiedName& ghost = p.steps[i + 1].ghost;
          const auto rec = c.model.find(ghost);
          FUZZ_CHECK(rec != c.model.end());
          FUZZ_CHECK(forgotten.count(ghost) == 0);
          const Pair* pair = nullptr;
          for (const Pair& pr : c.pairs) {
            if (pr.from == ghost && pair == nullptr) {
              pair = &pr;
            }
          }
          FUZZ_CHECK(pair != nullptr);
          FUZZ_CHECK(step.target == pair->to);
          const std::size_t j = next_replayed(
              rec->second, next_ddl.try_emplace(ghost, rec->second.applied).first->second,
              pair->to);
          FUZZ_CHECK(j < rec->second.ddls.size());
          FUZZ_CHECK(p.steps[i + 1].applied == j + 1);
          FUZZ_CHECK(step.sql == *replay_ddl(rec->second.ddls[j], ghost, pair->to));
          next_ddl[ghost] = j + 1;
          ++i;
          break;
        }
        if (b.kind == StatementKind::rename_table) {
          FUZZ_CHECK(st.kind == StatementKind::rename_table || alter_rename);
          const auto br = b.tables();
          for (std::size_t k = 0; k + 1 < br.size(); k += 2) {
            const auto from = resolve(br[k], "");
            const auto to = resolve(br[k + 1], "");
            FUZZ_CHECK(from && to && c.is_pair(*from, *to));
            renamed.push_back({*from, *to});
          }
          break;
        }
        if (b.kind == StatementKind::drop_table) {
          bool released = false;
          for (const auto& [key, rec] : c.model) {
            if (rec.deferred_drop && step.sql == rec.deferred_drop_sql &&
                step.target == *rec.deferred_drop) {
              // Released only together with forgetting its ghost.
              bool forgets = false;
              for (std::size_t k = i + 1; k < p.steps.size(); ++k) {
                forgets |= p.steps[k].kind == Step::Kind::forget && p.steps[k].ghost == key;
              }
              released |= forgets;
            }
          }
          if (released) {
            break;
          }
          // Vitess: a real table renamed to a table-GC name is dropped downstream.
          bool gc = false;
          for (const Pair& pr : c.pairs) {
            if (!gc && (st.kind == StatementKind::rename_table || alter_rename) &&
                c.kind_of(pr.from) == TableKind::real && c.class_of(pr.to).drop_on_rename &&
                step.sql == "DROP TABLE IF EXISTS " + quote_name(pr.from)) {
              gc = true;
              dropped.push_back(pr.from);
            }
          }
          if (gc) {
            break;
          }
          FUZZ_CHECK(st.kind == StatementKind::drop_table);
          for (const TableRef& r : b.tables()) {
            const auto q = resolve(r, "");
            FUZZ_CHECK(q && c.is_target(*q));
            dropped.push_back(*q);
          }
          break;
        }
        if (st.kind == StatementKind::table_maintenance &&
            b.kind == StatementKind::table_maintenance) {
          for (const TableRef& r : b.tables()) {
            const auto q = resolve(r, "");
            FUZZ_CHECK(q && c.is_target(*q));
          }
          break;
        }
        FUZZ_CHECK(st.kind == StatementKind::drop_database && step.sql == st.text);
        break;
      }
      case Step::Kind::cutover_progress:
        FUZZ_CHECK(false);  // only right after its DDL (consumed above)
        break;
      case Step::Kind::record: {
        FUZZ_CHECK(st.kind == StatementKind::alter_table ||
                   st.kind == StatementKind::create_index || st.kind == StatementKind::drop_index);
        FUZZ_CHECK(p.steps.size() == 1);
        FUZZ_CHECK(c.is_target(step.ghost) && c.truth.count(step.ghost) == 0);
        FUZZ_CHECK(step.sql == qualify_table_refs(st.text, c.db));
        FUZZ_CHECK(c.kind_of(step.ghost) == TableKind::ghost);
        break;
      }
      case Step::Kind::forget: {
        const bool dropped_db = st.kind == StatementKind::drop_database &&
                                st.first(RefRole::database) != nullptr &&
                                st.first(RefRole::database)->schema == step.ghost.schema;
        FUZZ_CHECK(dropped_db || c.names_it(step.ghost));
        const auto rec = c.model.find(step.ghost);
        FUZZ_CHECK(rec != c.model.end());
        // A cut-over ran every DDL not yet applied before forgetting (the rest have nothing
        // to replay).
        for (const Pair& pr : c.pairs) {
          if (pr.from == step.ghost && c.kind_of(pr.to) == TableKind::real) {
            const auto it = next_ddl.find(step.ghost);
            const std::size_t done = it == next_ddl.end() ? rec->second.applied : it->second;
            FUZZ_CHECK(next_replayed(rec->second, done, pr.to) == rec->second.ddls.size());
          }
        }
        forgotten.insert(step.ghost);
        break;
      }
      case Step::Kind::defer_drop: {
        FUZZ_CHECK(st.kind == StatementKind::drop_table && c.is_target(step.target));
        const auto rec = c.model.find(step.ghost);
        FUZZ_CHECK(rec != c.model.end());
        FUZZ_CHECK(step.target == real_of(rec->second));
        FUZZ_CHECK(step.sql == "DROP TABLE IF EXISTS " + quote_name(step.target));
        deferred.push_back(step.target);
        break;
      }
      case Step::Kind::bind: {
        // A helper never exists downstream; it is bound by CREATE TABLE of a rule-shaped name
        // (to the LIKE source, when that exists downstream) or by a RENAME pair onto it.
        FUZZ_CHECK(c.truth.count(step.ghost) == 0);
        FUZZ_CHECK(step.target.table.empty() || c.truth.count(step.target) != 0 ||
                   st.kind != StatementKind::create_table);
        if (st.kind == StatementKind::create_table) {
          FUZZ_CHECK(c.is_target(step.ghost));
          FUZZ_CHECK(c.engine.rules().matches_any(step.ghost.table) ||
                     !pt_osc_truncation_candidates(step.ghost.table).empty());
          const TableRef* like = st.first(RefRole::like_source);
          FUZZ_CHECK(step.target.table.empty() ||
                     (like != nullptr && resolve(*like, c.db) == step.target));
        } else {
          FUZZ_CHECK(st.kind == StatementKind::rename_table || alter_rename);
          FUZZ_CHECK(step.bound_kind == TableKind::trash);
          bool onto = false;
          for (const Pair& pr : c.pairs) {
            onto |= pr.to == step.ghost;
          }
          FUZZ_CHECK(onto);
        }
        bound.push_back(step.ghost);
        break;
      }
    }
  }

  // Every cut-over pair of a pending ghost onto a real table forgets the ghost.
  for (const Pair& pr : c.pairs) {
    const auto rec = c.model.find(pr.from);
    if (rec != c.model.end() && rec->second.kind == TableKind::ghost &&
        c.kind_of(pr.to) == TableKind::real) {
      FUZZ_CHECK(forgotten.count(pr.from) != 0);
    }
  }
  // DROP TABLE: each existing table is dropped or its drop deferred.
  if (st.kind == StatementKind::drop_table) {
    for (std::size_t i = 0; i < refs.size(); ++i) {
      if (c.names[i] && c.truth.count(*c.names[i]) != 0) {
        const bool done =
            std::find(dropped.begin(), dropped.end(), *c.names[i]) != dropped.end() ||
            std::find(deferred.begin(), deferred.end(), *c.names[i]) != deferred.end();
        FUZZ_CHECK(done);
      }
    }
  }
  // RENAME: each pair moving an existing table is run, unless it moves it to a trash name.
  if (st.kind == StatementKind::rename_table || alter_rename) {
    for (const Pair& pr : c.pairs) {
      if (c.truth.count(pr.from) != 0 && c.kind_of(pr.from) == TableKind::real) {
        bool done = false;
        for (const Pair& r : renamed) {
          done |= r.from == pr.from && r.to == pr.to;
        }
        FUZZ_CHECK(done || c.kind_of(pr.to) != TableKind::real ||
                   std::find(bound.begin(), bound.end(), pr.to) != bound.end());
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

TableRules make_rules(bool dm) {
  if (!dm) {
    return TableRules::defaults();
  }
  std::optional<TableRules> r =
      TableRules::create(TableRules::dm_shadow_rules(), TableRules::dm_trash_rules(), nullptr);
  FUZZ_CHECK(r.has_value());
  return std::move(*r);
}

// Two engines per rule set, made once (compiling the rules costs more than a short input): one
// in use, one to load its snapshot into. load() replaces the whole registry.
Engine* engine_pair(bool dm, int which) {
  static Engine engines[2][2] = {{Engine(make_rules(false)), Engine(make_rules(false))},
                                 {Engine(make_rules(true)), Engine(make_rules(true))}};
  return &engines[dm ? 1 : 0][which];
}

struct Harness {
  explicit Harness(bool dm) : engine(engine_pair(dm, 0)), mirror(engine_pair(dm, 1)) {
    engine->load({});
    mirror->load({});
  }

  // fault: 0 none, 1 the `at`-th backend statement fails, 2 persisting the `at`-th state step
  // fails (restore), each optionally followed by a retry of the statement without faults.
  void run(const std::string& text, unsigned fault, unsigned at, bool retry) {
    const Statement st = classify(text);
    // The persistence round trip, before every statement: a loaded engine plans the same.
    mirror->load(engine->snapshot());
    FUZZ_CHECK(mirror->snapshot() == engine->snapshot());

    Plan p;
    for (int round = 0;; ++round) {
      FUZZ_CHECK(round < 8);
      p = engine->plan(st, db, catalog);
      FUZZ_CHECK(same_plan(p, mirror->plan(st, db, catalog)));
      if (p.verdict != Plan::Verdict::need_lookup) {
        break;
      }
      FUZZ_CHECK(!p.lookups.empty() && p.steps.empty());
      for (const QualifiedName& q : p.lookups) {
        FUZZ_CHECK(!catalog.knows(q));
        catalog.learn(q);
      }
    }
    if (engine->quick_forward(st, db)) {
      FUZZ_CHECK(p.verdict == Plan::Verdict::forward);
    }
    if (trace()) {
      static constexpr const char* verdicts[] = {"forward", "local", "refuse", "need_lookup"};
      std::fprintf(stderr, "[db=%s] %s\n  -> %s %s\n", db.c_str(), text.c_str(),
                   verdicts[static_cast<int>(p.verdict)], std::string(p.reason).c_str());
      for (const Step& step : p.steps) {
        std::fprintf(stderr, "     step %d ghost=%s target=%s applied=%zu sql=%s\n",
                     static_cast<int>(step.kind), quote_name(step.ghost).c_str(),
                     quote_name(step.target).c_str(), step.applied, step.sql.c_str());
      }
    }

    switch (p.verdict) {
      case Plan::Verdict::forward:
        FUZZ_CHECK(p.steps.empty() && p.lookups.empty());
        execute(truth, text, db);
        if (st.kind == StatementKind::use) {
          if (const TableRef* d = st.first(RefRole::database)) {
            db = std::string(d->schema);
          }
        }
        break;
      case Plan::Verdict::refuse:
        FUZZ_CHECK(p.steps.empty());
        FUZZ_CHECK((p.error_code == Engine::refuse_error_code &&
                    p.sql_state == Engine::refuse_sql_state &&
                    p.error_message.starts_with("ghostgate: ")) ||
                   (p.error_code == 1046 && p.sql_state == "3D000"));  // no database selected
        break;
      case Plan::Verdict::local: {
        const Context c = make_context(st, db, truth, model, *engine, catalog);
        check_local_plan(c, p);
        const bool ok = run_steps(p, fault, at);
        if (!ok && retry) {
          check_registry(*engine, model);
          run(text, 0, 0, false);
          return;
        }
        break;
      }
      case Plan::Verdict::need_lookup:
        FUZZ_CHECK(false);
    }
    check_registry(*engine, model);
  }

  bool run_steps(const Plan& p, unsigned fault, unsigned at) {
    unsigned backend = 0;
    unsigned state = 0;
    for (const Step& step : p.steps) {
      if (step.kind == Step::Kind::backend_sql) {
        const bool injected = fault == 1 && backend++ == at;
        if (injected || !execute(truth, step.sql, "")) {
          return false;
        }
        continue;
      }
      std::optional<GhostRecord> prev;
      if (const GhostRecord* r = engine->find(step.ghost)) {
        prev = *r;
      }
      const std::optional<GhostRecord> now = engine->apply(step);
      const GhostRecord* stored = engine->find(step.ghost);
      FUZZ_CHECK(now.has_value() == (stored != nullptr));
      FUZZ_CHECK(!now || *now == *stored);
      if (fault == 2 && state++ == at) {
        engine->restore(step.ghost, prev);
        const GhostRecord* back = engine->find(step.ghost);
        FUZZ_CHECK(prev.has_value() == (back != nullptr));
        FUZZ_CHECK(!prev || *prev == *back);
        return false;
      }
      apply_to_model(model, step);
    }
    return true;
  }

  // A restart: continue on the other engine, loaded from this one's snapshot.
  void restart() {
    mirror->load(engine->snapshot());
    std::swap(engine, mirror);
  }

  Engine* engine;
  Engine* mirror;
  Tables truth;
  FuzzCatalog catalog{truth};
  Model model;
  std::string db;
};

// The names the downstream may start with (bit i of a 16-bit mask).
QualifiedName initial_table(unsigned i) {
  static const std::array<QualifiedName, 16> names = {
      QualifiedName{"test", "t"},        QualifiedName{"test", "u"},
      QualifiedName{"test", "parent"},   QualifiedName{"test", kLong62},
      QualifiedName{"test", kLong60},    QualifiedName{"test", "we`ird"},
      QualifiedName{"test", "a b"},      QualifiedName{"db2", "t"},
      QualifiedName{"db2", "u"},         QualifiedName{"test", "_u_old"},
      QualifiedName{"test", "_t_gho_x"}, QualifiedName{"test", "T"},
      QualifiedName{"db2", "parent"},    QualifiedName{"test", "_parent_del"},
      QualifiedName{"test", "__t_new"},  QualifiedName{"db2", "_t_gho"},
  };
  return names[i];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  // Header: flags (bit 0 DM rules, bits 1-2 starting database), then the downstream's tables.
  const unsigned flags = static_cast<unsigned>(in.take(1));
  const unsigned mask = static_cast<unsigned>(in.take(2));
  Harness h((flags & 1) != 0);
  static constexpr std::array<std::string_view, 4> dbs = {"test", "", "db2", "test"};
  h.db = std::string(dbs[(flags >> 1) & 3]);
  for (unsigned i = 0; i < 16; ++i) {
    if (mask & (1u << i)) {
      h.truth.insert(initial_table(i));
    }
  }
  Gen gen(in);
  for (int ops = 0; ops < 128 && !in.empty(); ++ops) {
    const unsigned op = gen.byte();
    // Bits 5-7: 0-3 plain; 4 restart from the snapshot; 5 forget the catalog cache; 6 a
    // backend failure, 7 a persist failure (next byte: which step, bit 7: retry).
    const unsigned extra = op >> 5;
    if (extra == 4) {
      h.restart();
      continue;
    }
    if (extra == 5) {
      h.catalog.forget_all();
      continue;
    }
    unsigned fault = 0;
    unsigned at = 0;
    bool retry = false;
    if (extra >= 6) {
      fault = extra - 5;
      const unsigned f = gen.byte();
      at = f & 7;
      retry = (f & 0x80) != 0;
    }
    const std::string text = gen.statement(op & 31, h.db);
    h.run(text, fault, at, retry);
  }
  return 0;
}
