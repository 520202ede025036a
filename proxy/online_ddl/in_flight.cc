#include "proxy/online_ddl/in_flight.h"

#include <algorithm>
#include <cctype>

#include "proxy/online_ddl/meta_store.h"

namespace ghostgate::proxy {

namespace {

constexpr std::string_view final_states[] = {"synced", "done", "cancelled", "rollback done"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

InFlightQuery in_flight_query(std::string_view server_version, const rules::QualifiedName& target,
                              std::string_view ddl) {
  InFlightQuery q;
  q.tidb = server_version.find("TiDB") != std::string_view::npos;
  if (q.tidb) {
    q.sql = "SELECT JOB_ID, STATE FROM information_schema.DDL_JOBS WHERE DB_NAME = " +
            hex_literal(target.schema) + " AND TABLE_NAME = " + hex_literal(target.table) +
            " AND STATE NOT IN ('synced', 'done', 'cancelled', 'rollback done')";
  } else {
    q.sql = "SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE INFO = " + hex_literal(ddl) +
            " AND ID <> CONNECTION_ID()";
  }
  return q;
}

std::size_t count_in_flight(const InFlightQuery& query, const std::vector<std::string>& columns,
                            const std::vector<std::vector<std::optional<std::string>>>& rows,
                            std::string_view ddl) {
  const std::string want = query.tidb ? "state" : "info";
  std::size_t col = columns.size();
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (lower(columns[i]) == want) {
      col = i;
    }
  }
  if (col == columns.size()) {
    col = 1;  // the query's second column
  }
  std::size_t n = 0;
  for (const auto& row : rows) {
    if (row.size() <= col || !row[col]) {
      continue;
    }
    if (query.tidb) {
      const std::string state = lower(*row[col]);
      if (std::find(std::begin(final_states), std::end(final_states), state) ==
          std::end(final_states)) {
        ++n;
      }
    } else if (*row[col] == ddl) {
      ++n;
    }
  }
  return n;
}

}  // namespace ghostgate::proxy
