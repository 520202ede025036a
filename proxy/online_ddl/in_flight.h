#pragma once
// Finding a cut-over DDL that is still running in the backend (pure: builds the query, reads its
// result). Used before a cut-over DDL whose outcome is uncertain runs again: after a crash or a
// lost connection the first run may still be executing there (a DDL job on TiDB goes on after
// its connection is gone; on MariaDB/MySQL the statement runs until it notices).
//
//   MariaDB/MySQL: information_schema.PROCESSLIST rows whose INFO is the exact text ghostgate
//                  sent (it sends the recorded DDL verbatim), other than the asking connection.
//   TiDB (the version string contains "TiDB"): information_schema.DDL_JOBS rows of the target
//                  table (DB_NAME, TABLE_NAME) whose STATE is not final (queueing, running,
//                  pausing, paused, rollingback, cancelling, none): a job keyed on the table,
//                  since TiDB's QUERY column may be cut short.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/online_ddl.h"

namespace ghostgate::proxy {

struct InFlightQuery {
  bool tidb = false;
  std::string sql;
};

[[nodiscard]] InFlightQuery in_flight_query(std::string_view server_version,
                                            const rules::QualifiedName& target,
                                            std::string_view ddl);

// How many of the result's rows are the DDL still running (the query already filters; this
// re-checks each row's state or text, so a backend that ignores part of the WHERE is safe).
[[nodiscard]] std::size_t count_in_flight(
    const InFlightQuery& query, const std::vector<std::string>& columns,
    const std::vector<std::vector<std::optional<std::string>>>& rows, std::string_view ddl);

}  // namespace ghostgate::proxy
