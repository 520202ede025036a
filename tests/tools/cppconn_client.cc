// A real mysql-connector-c++ (legacy 1.1 API) client for the transparent-proxy integration test.
//
//   cppconn_client HOST PORT USER PASSWORD DATABASE
//
// Exercises the binary protocol through whatever listens on HOST:PORT: prepared statements
// with int, bigint, double, string, NULL, datetime and blob parameters (the blob goes as
// COM_STMT_SEND_LONG_DATA), statement re-execution, a stored procedure returning several result
// sets (text protocol and prepared CALL), large and streamed result sets, multi-statements,
// transactions and warnings. Exit code 0 only if every check held.
//
// Connector/C++ 1.1 cannot open a server-side cursor (COM_STMT_FETCH): setFetchSize() throws
// "not implemented" for prepared statements and no API sets CURSOR_TYPE_READ_ONLY. The closest it
// offers is Statement::setResultSetType(TYPE_FORWARD_ONLY), which streams text-protocol rows
// (mysql_use_result) instead of buffering them; prepared statements can only buffer.

#include <cppconn/connection.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <cppconn/warning.h>
#include <mysql_driver.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

int checks = 0;
int failures = 0;

void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
  }
  std::cout << (ok ? "ok   " : "FAIL ") << what << std::endl;
}

template <typename A, typename B>
void check_eq(const A& got, const B& want, const std::string& what) {
  std::ostringstream s;
  bool ok = got == want;
  s << what;
  if (!ok) {
    s << " (got " << got << ", want " << want << ")";
  }
  check(ok, s.str());
}

std::string blob_bytes(std::size_t n) {
  std::string b(n, '\0');
  std::uint32_t x = 2463534242u;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b[i] = static_cast<char>(x & 0xff);
  }
  return b;
}

std::string read_all(std::istream* in) {
  std::string out;
  if (in == nullptr) {
    return out;
  }
  char buf[65536];
  while (in->read(buf, sizeof buf) || in->gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in->gcount()));
  }
  return out;
}

using StatementPtr = std::unique_ptr<sql::Statement>;
using PreparedPtr = std::unique_ptr<sql::PreparedStatement>;
using ResultPtr = std::unique_ptr<sql::ResultSet>;

void prepared_types(sql::Connection& conn) {
  StatementPtr st(conn.createStatement());
  st->execute("DROP TABLE IF EXISTS cpp_types");
  st->execute(
      "CREATE TABLE cpp_types (id INT PRIMARY KEY, big BIGINT, d DOUBLE, s VARCHAR(100), "
      "n INT NULL, dt DATETIME, bl LONGBLOB)");

  const std::string blob = blob_bytes(1 << 20);  // 1 MiB with every byte value, incl. 0
  PreparedPtr ins(conn.prepareStatement("INSERT INTO cpp_types VALUES (?, ?, ?, ?, ?, ?, ?)"));
  for (int id = 1; id <= 3; ++id) {
    ins->setInt(1, id);
    ins->setInt64(2, INT64_C(-9000000000000000000) + id);
    ins->setDouble(3, 3.25 * id);
    ins->setString(4, "str-" + std::to_string(id) + " 'quoted' \"dq\" \\ ünï");
    if (id == 2) {
      ins->setNull(5, 0);
    } else {
      ins->setInt(5, id * 10);
    }
    ins->setDateTime(6, "2024-02-29 12:34:5" + std::to_string(id));
    std::istringstream blob_stream(blob.substr(0, blob.size() / id));
    ins->setBlob(7, &blob_stream);
    check_eq(ins->executeUpdate(), 1, "prepared INSERT row " + std::to_string(id));
  }

  PreparedPtr sel(conn.prepareStatement(
      "SELECT id, big, d, s, n, dt, bl, LENGTH(bl), MD5(bl) FROM cpp_types WHERE id = ?"));
  for (int id = 3; id >= 1; --id) {  // re-executes one prepared statement
    sel->setInt(1, id);
    ResultPtr rs(sel->executeQuery());
    check(rs->next(), "prepared SELECT row " + std::to_string(id) + " found");
    check_eq(rs->getInt(1), id, "int column");
    check_eq(rs->getInt64(2), INT64_C(-9000000000000000000) + id, "bigint column");
    check_eq(rs->getDouble(3), 3.25 * id, "double column");
    check_eq(std::string(rs->getString(4)),
             "str-" + std::to_string(id) + " 'quoted' \"dq\" \\ ünï", "string column");
    if (id == 2) {
      rs->getInt(5);
      check(rs->wasNull(), "NULL column is NULL");
    } else {
      check_eq(rs->getInt(5), id * 10, "nullable int column");
      check(!rs->wasNull(), "non-NULL column is not NULL");
    }
    check_eq(std::string(rs->getString(6)), "2024-02-29 12:34:5" + std::to_string(id),
             "datetime column");
    std::unique_ptr<std::istream> bl(rs->getBlob(7));
    const std::string back = read_all(bl.get());
    check_eq(back.size(), blob.size() / id, "blob length");
    check(back == blob.substr(0, blob.size() / id), "blob bytes identical");
    check_eq(rs->getUInt64(8), static_cast<std::uint64_t>(blob.size() / id), "server LENGTH");
    check(!rs->next(), "exactly one row");
  }

  // A NULL parameter in a comparison, and a parameter used in an expression.
  PreparedPtr expr(conn.prepareStatement("SELECT ? IS NULL, ? + 1, CONCAT(?, '!')"));
  expr->setNull(1, 0);
  expr->setInt64(2, INT64_C(9007199254740993));
  expr->setString(3, "hi");
  ResultPtr rs(expr->executeQuery());
  check(rs->next(), "expression row");
  check_eq(rs->getInt(1), 1, "? IS NULL with NULL parameter");
  check_eq(rs->getInt64(2), INT64_C(9007199254740994), "bigint parameter arithmetic");
  check_eq(std::string(rs->getString(3)), std::string("hi!"), "string parameter");

  // An error from a prepared statement, then the connection is still usable.
  bool threw = false;
  try {
    PreparedPtr dup(conn.prepareStatement("INSERT INTO cpp_types (id) VALUES (?)"));
    dup->setInt(1, 1);
    dup->executeUpdate();
  } catch (sql::SQLException& e) {
    threw = true;
    check_eq(e.getErrorCode(), 1062, "duplicate key error code from EXECUTE");
  }
  check(threw, "duplicate key raised an error");
  threw = false;
  try {
    PreparedPtr bad(conn.prepareStatement("SELECT * FROM no_such_table WHERE id = ?"));
  } catch (sql::SQLException& e) {
    threw = true;
    check_eq(e.getErrorCode(), 1146, "error code from PREPARE");
  }
  check(threw, "PREPARE of a bad statement raised an error");
}

void stored_procedure(sql::Connection& conn) {
  StatementPtr st(conn.createStatement());
  st->execute("DROP PROCEDURE IF EXISTS cpp_multi");
  st->execute(
      "CREATE PROCEDURE cpp_multi(IN x INT) BEGIN "
      "SELECT x AS a; "
      "SELECT x * 2 AS b, 'two' AS c; "
      "SELECT id FROM cpp_types WHERE id <= x ORDER BY id; "
      "END");

  // Text protocol CALL.
  // JDBC style: results go on until getMoreResults() is false AND there is no update count; a
  // CALL ends with one OK packet (an update count) after its result sets.
  std::vector<std::string> seen;
  bool has_rs = st->execute("CALL cpp_multi(2)");
  for (int i = 0; i < 10; ++i) {
    if (has_rs) {
      ResultPtr rs(st->getResultSet());
      std::string text;
      while (rs->next()) {
        text += std::string(rs->getString(1)) + ",";
      }
      seen.push_back(text);
    } else if (st->getUpdateCount() == static_cast<std::uint64_t>(-1)) {
      break;
    }
    has_rs = st->getMoreResults();
  }
  check_eq(seen.size(), static_cast<std::size_t>(3), "CALL returned three result sets");
  if (seen.size() == 3) {
    check_eq(seen[0], std::string("2,"), "first result set");
    check_eq(seen[1], std::string("4,"), "second result set");
    check_eq(seen[2], std::string("1,2,"), "third result set");
  }

  // Prepared CALL: the binary protocol's multi-result path.
  PreparedPtr call(conn.prepareStatement("CALL cpp_multi(?)"));
  call->setInt(1, 3);
  seen.clear();
  has_rs = call->execute();
  for (int i = 0; i < 10 && has_rs; ++i) {
    {  // the result set must be closed before asking for the next one
      ResultPtr rs(call->getResultSet());
      std::string text;
      while (rs->next()) {
        text += std::string(rs->getString(1)) + ",";
      }
      seen.push_back(text);
    }
    has_rs = call->getMoreResults();
  }
  check_eq(seen.size(), static_cast<std::size_t>(3), "prepared CALL returned three result sets");
  if (seen.size() == 3) {
    check_eq(seen[2], std::string("1,2,3,"), "prepared CALL third result set");
  }
  ResultPtr after(st->executeQuery("SELECT 'in sync after CALL'"));
  check(after->next() && after->getString(1) == "in sync after CALL", "in sync after CALL");
}

void streaming(sql::Connection& conn) {
  const int rows = 20000;
  // A large prepared-statement result (binary rows). Connector/C++ 1.1 buffers it
  // (mysql_stmt_store_result): PreparedStatement::setResultSetType and the connection's
  // defaultPreparedStatementResultType both end in "not implemented", so only the text
  // protocol below can stream.
  PreparedPtr ps(conn.prepareStatement(
      "SELECT seq, CONCAT('row-', seq) FROM seq_1_to_20000 WHERE seq >= ? ORDER BY seq"));
  ps->setInt(1, 1);
  ResultPtr rs(ps->executeQuery());
  long long sum = 0;
  int n = 0;
  bool labels_ok = true;
  while (rs->next()) {
    ++n;
    sum += rs->getInt(1);
    if (n % 997 == 0 && rs->getString(2) != "row-" + std::to_string(n)) {
      labels_ok = false;
    }
  }
  check_eq(n, rows, "large prepared result: row count");
  check_eq(sum, static_cast<long long>(rows) * (rows + 1) / 2, "large prepared result: sum");
  check(labels_ok, "large prepared result: values");
  rs.reset();

  StatementPtr st(conn.createStatement());
  st->setResultSetType(sql::ResultSet::TYPE_FORWARD_ONLY);  // mysql_use_result
  ResultPtr trs(st->executeQuery("SELECT seq FROM seq_1_to_20000"));
  n = 0;
  while (trs->next()) {
    ++n;
  }
  check_eq(n, rows, "streamed text result: row count");
}

void multi_statements_and_transactions(sql::Connection& conn) {
  // Connector/C++ 1.1 reports no update count for an OK result in the middle of a batch, so
  // the batch holds only result sets.
  StatementPtr st(conn.createStatement());
  bool has_rs = st->execute("SELECT 1; SELECT 'x', 'y' UNION ALL SELECT 'z', 'w'; SELECT 3");
  std::string seen;
  for (int i = 0; i < 10 && has_rs; ++i) {
    {
      ResultPtr rs(st->getResultSet());
      while (rs->next()) {
        seen += std::string(rs->getString(1)) + ",";
      }
      seen += ";";
    }
    has_rs = st->getMoreResults();
  }
  check_eq(seen, std::string("1,;x,z,;3,;"), "multi-statement: three result sets in order");
  ResultPtr after(st->executeQuery("SELECT 'in sync after batch'"));
  check(after->next() && after->getString(1) == "in sync after batch", "in sync after batch");
  after.reset();

  st->execute("DROP TABLE IF EXISTS cpp_tx");
  st->execute("CREATE TABLE cpp_tx (id INT PRIMARY KEY) ENGINE=InnoDB");
  conn.setAutoCommit(false);
  st->execute("INSERT INTO cpp_tx VALUES (1), (2)");
  conn.rollback();
  ResultPtr rs(st->executeQuery("SELECT COUNT(*) FROM cpp_tx"));
  rs->next();
  check_eq(rs->getInt(1), 0, "rollback discarded rows");
  st->execute("INSERT INTO cpp_tx VALUES (3)");
  conn.commit();
  conn.setAutoCommit(true);
  rs.reset(st->executeQuery("SELECT COUNT(*) FROM cpp_tx"));
  rs->next();
  check_eq(rs->getInt(1), 1, "commit kept the row");

  // Warnings travel with the OK packet and SHOW WARNINGS.
  check_eq(st->executeUpdate("INSERT IGNORE INTO cpp_tx VALUES (3), (4)"), 1,
           "INSERT IGNORE affected rows");
  const sql::SQLWarning* w = st->getWarnings();
  check(w != nullptr && w->getErrorCode() == 1062, "duplicate-key warning reported");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: cppconn_client HOST PORT USER PASSWORD DATABASE\n";
    return 2;
  }
  try {
    sql::mysql::MySQL_Driver* driver = sql::mysql::get_mysql_driver_instance();
    sql::ConnectOptionsMap opts;
    opts["hostName"] = sql::SQLString(std::string("tcp://") + argv[1] + ":" + argv[2]);
    opts["userName"] = sql::SQLString(argv[3]);
    opts["password"] = sql::SQLString(argv[4]);
    opts["schema"] = sql::SQLString(argv[5]);
    opts["CLIENT_MULTI_STATEMENTS"] = true;
    opts["OPT_CONNECT_TIMEOUT"] = 10;
    opts["OPT_READ_TIMEOUT"] = 120;
    opts["OPT_WRITE_TIMEOUT"] = 120;
    std::unique_ptr<sql::Connection> conn(driver->connect(opts));
    check(conn->isValid(), "connected");
    // Each part runs even if an earlier one failed, so one report shows every broken path.
    const std::pair<const char*, void (*)(sql::Connection&)> parts[] = {
        {"prepared_types", prepared_types},
        {"stored_procedure", stored_procedure},
        {"streaming", streaming},
        {"multi_statements_and_transactions", multi_statements_and_transactions},
    };
    for (const auto& [name, part] : parts) {
      try {
        part(*conn);
      } catch (sql::SQLException& e) {
        ++failures;
        std::cout << "FAIL " << name << ": unexpected SQLException: " << e.what() << " (code "
                  << e.getErrorCode() << ", state " << e.getSQLState() << ")" << std::endl;
        // The connection may be out of sync now; continue on a fresh one.
        conn.reset(driver->connect(opts));
      }
    }
    conn->close();
  } catch (sql::SQLException& e) {
    ++failures;
    std::cout << "FAIL unexpected SQLException: " << e.what() << " (code " << e.getErrorCode()
              << ", state " << e.getSQLState() << ")" << std::endl;
  } catch (std::exception& e) {
    ++failures;
    std::cout << "FAIL unexpected exception: " << e.what() << std::endl;
  }
  std::cout << "cppconn_client: " << checks << " checks, " << failures << " failed" << std::endl;
  return failures == 0 && checks > 0 ? 0 : 1;
}
