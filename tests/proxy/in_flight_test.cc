// The query that finds a cut-over DDL still running in the backend, and the reading of its
// result (proxy/online_ddl/in_flight.h). TiDB's shape is information_schema.DDL_JOBS as its
// docs show it (JOB_ID, DB_NAME, TABLE_NAME, JOB_TYPE, SCHEMA_STATE, ..., STATE, QUERY).

#include "proxy/online_ddl/in_flight.h"

#include <gtest/gtest.h>

namespace ghostgate::proxy {
namespace {

using Rows = std::vector<std::vector<std::optional<std::string>>>;

const rules::QualifiedName target{"shop", "orders"};
constexpr std::string_view ddl = "ALTER TABLE `shop`.`orders` ADD COLUMN note INT";

TEST(InFlight, ChoosesTheQueryByTheServerVersion) {
  const InFlightQuery maria = in_flight_query("10.11.6-MariaDB-0+deb12u1", target, ddl);
  EXPECT_FALSE(maria.tidb);
  EXPECT_NE(maria.sql.find("information_schema.PROCESSLIST"), std::string::npos);
  EXPECT_NE(maria.sql.find("CONNECTION_ID()"), std::string::npos);
  const InFlightQuery mysql = in_flight_query("8.0.36", target, ddl);
  EXPECT_FALSE(mysql.tidb);
  const InFlightQuery tidb = in_flight_query("8.0.11-TiDB-v7.5.1", target, ddl);
  EXPECT_TRUE(tidb.tidb);
  EXPECT_NE(tidb.sql.find("information_schema.DDL_JOBS"), std::string::npos);
  EXPECT_NE(tidb.sql.find("DB_NAME = X'73686F70'"), std::string::npos);         // shop
  EXPECT_NE(tidb.sql.find("TABLE_NAME = X'6F7264657273'"), std::string::npos);  // orders
}

TEST(InFlight, CountsProcesslistRowsWithTheExactText) {
  const InFlightQuery q = in_flight_query("10.11.6-MariaDB", target, ddl);
  const Rows rows = {{"12", std::string(ddl)},
                     {"13", std::string(ddl) + " "},  // another statement
                     {"14", std::nullopt}};
  EXPECT_EQ(count_in_flight(q, {"ID", "INFO"}, rows, ddl), 1u);
  EXPECT_EQ(count_in_flight(q, {"ID", "INFO"}, {}, ddl), 0u);
}

TEST(InFlight, CountsUnfinishedTidbJobs) {
  const InFlightQuery q = in_flight_query("8.0.11-TiDB-v6.5.0", target, ddl);
  const std::vector<std::string> columns = {"JOB_ID", "STATE"};
  const Rows rows = {{"101", "running"},  {"102", "queueing"},     {"99", "synced"},
                     {"98", "cancelled"}, {"97", "rollback done"}, {"103", "paused"}};
  EXPECT_EQ(count_in_flight(q, columns, rows, ddl), 3u);
  // Column names as the backend reports them, any case; the state in any case.
  EXPECT_EQ(count_in_flight(q, {"job_id", "state"}, {{"1", "Running"}}, ddl), 1u);
  EXPECT_EQ(count_in_flight(q, columns, {{"1", "done"}}, ddl), 0u);
}

}  // namespace
}  // namespace ghostgate::proxy
