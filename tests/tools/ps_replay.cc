// Replays a statement stream through mysql-connector-c++ (legacy 1.1 API) as server-side prepared
// statements, the way a JDBC-style sink applies row changes: PREPARE once per statement text,
// bind the values, EXECUTE.
//
//   ps_replay HOST PORT USER PASSWORD DATABASE < records
//
// Records on stdin, one after another (lengths are byte counts, so any byte may appear in SQL or
// a value):
//
//   MODE SQLLEN NPARAMS\n SQL-bytes
//   then NPARAMS times:   TYPE LEN\n value-bytes
//
//   MODE  P  prepare SQL (COM_STMT_PREPARE), bind the parameters, execute (COM_STMT_EXECUTE)
//         T  send SQL as text (COM_QUERY): for what the server cannot prepare; NPARAMS is 0
//         U  SQL is a database name: Connection::setSchema (COM_INIT_DB), as a sink switches
//            databases (MySQL cannot prepare USE); NPARAMS is 0
//   TYPE  i  signed integer, decimal text        -> setInt64
//         u  unsigned integer, decimal text      -> setUInt64
//         s  string (also exact decimals, dates) -> setString
//         b  bytes                               -> setBlob (sent as COM_STMT_SEND_LONG_DATA)
//         n  NULL (LEN 0)                        -> setNull
//
// Prepared statements are cached by SQL text (a sink re-executes one INSERT for every row) and
// closed when the cache is cleared after a DDL, as a sink re-prepares after a schema change.
//
// Output, one line per failed record: `ERR <record#> <code> <sqlstate> <message> :: <sql head>`;
// at the end `ps_replay: N records, P prepared, T text, E errors` (T counts U too). Every record is
// tried (like `mariadb --force`). Exit code 0 only with no error.

#include <cppconn/connection.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <cctype>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Param {
  char type = 'n';
  std::string value;
};

struct Record {
  char mode = 'P';
  std::string sql;
  std::vector<Param> params;
};

bool read_header(std::istream& in, std::string& line) {
  line.clear();
  return static_cast<bool>(std::getline(in, line));
}

bool read_bytes(std::istream& in, std::size_t n, std::string& out) {
  out.assign(n, '\0');
  return n == 0 || static_cast<bool>(in.read(out.data(), static_cast<std::streamsize>(n)));
}

// false at a clean end of input; throws std::runtime_error on a malformed record.
bool read_record(std::istream& in, Record& r) {
  std::string line;
  if (!read_header(in, line)) {
    return false;
  }
  std::istringstream head(line);
  std::size_t sql_len = 0;
  std::size_t nparams = 0;
  if (!(head >> r.mode >> sql_len >> nparams) ||
      (r.mode != 'P' && r.mode != 'T' && r.mode != 'U')) {
    throw std::runtime_error("bad record header: " + line);
  }
  if (!read_bytes(in, sql_len, r.sql)) {
    throw std::runtime_error("truncated SQL");
  }
  r.params.assign(nparams, Param{});
  for (Param& p : r.params) {
    std::size_t len = 0;
    if (!read_header(in, line)) {
      throw std::runtime_error("truncated parameter list");
    }
    std::istringstream ph(line);
    if (!(ph >> p.type >> len)) {
      throw std::runtime_error("bad parameter header: " + line);
    }
    if (!read_bytes(in, len, p.value)) {
      throw std::runtime_error("truncated parameter value");
    }
  }
  return true;
}

void bind(sql::PreparedStatement& ps, const std::vector<Param>& params,
          std::vector<std::unique_ptr<std::istringstream>>& blobs) {
  for (std::size_t k = 0; k < params.size(); ++k) {
    const unsigned int index = static_cast<unsigned int>(k + 1);
    const Param& p = params[k];
    switch (p.type) {
      case 'i':
        ps.setInt64(index, std::stoll(p.value));
        break;
      case 'u':
        ps.setUInt64(index, std::stoull(p.value));
        break;
      case 's':
        ps.setString(index, sql::SQLString(p.value));
        break;
      case 'b':
        // The stream must outlive execute(): the connector reads it then.
        blobs.push_back(std::make_unique<std::istringstream>(p.value));
        ps.setBlob(index, blobs.back().get());
        break;
      case 'n':
        ps.setNull(index, 0);
        break;
      default:
        throw std::runtime_error(std::string("bad parameter type ") + p.type);
    }
  }
}

// Reads and drops every result set (ANALYZE TABLE answers with one): the connection must be
// in sync before the next command.
template <typename S>
void drain(S& st, bool has_result) {
  while (has_result) {
    {
      std::unique_ptr<sql::ResultSet> rs(st.getResultSet());
      while (rs && rs->next()) {
      }
    }
    has_result = st.getMoreResults();
  }
}

// A statement that changes a table definition invalidates cached prepared statements.
bool is_schema_change(const std::string& sql) {
  std::size_t i = 0;
  while (i < sql.size() && (sql[i] == ' ' || sql[i] == '\n' || sql[i] == '\t')) {
    ++i;
  }
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i])));
    ++i;
  }
  return word == "ALTER" || word == "RENAME" || word == "DROP" || word == "CREATE" ||
         word == "TRUNCATE";
}

std::string head_of(const std::string& sql) {
  std::string h = sql.substr(0, 120);
  for (char& c : h) {
    if (c == '\n') {
      c = ' ';
    }
  }
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: ps_replay HOST PORT USER PASSWORD DATABASE < records\n";
    return 2;
  }
  std::ios::sync_with_stdio(false);
  std::size_t records = 0;
  std::size_t prepared = 0;
  std::size_t text = 0;
  std::size_t errors = 0;
  try {
    sql::mysql::MySQL_Driver* driver = sql::mysql::get_mysql_driver_instance();
    sql::ConnectOptionsMap opts;
    opts["hostName"] = sql::SQLString(std::string("tcp://") + argv[1] + ":" + argv[2]);
    opts["userName"] = sql::SQLString(argv[3]);
    opts["password"] = sql::SQLString(argv[4]);
    opts["schema"] = sql::SQLString(argv[5]);
    opts["OPT_CONNECT_TIMEOUT"] = 10;
    opts["OPT_READ_TIMEOUT"] = 300;
    opts["OPT_WRITE_TIMEOUT"] = 300;
    std::unique_ptr<sql::Connection> conn(driver->connect(opts));
    std::unique_ptr<sql::Statement> plain(conn->createStatement());
    std::map<std::string, std::unique_ptr<sql::PreparedStatement>> cache;

    Record r;
    while (read_record(std::cin, r)) {
      ++records;
      try {
        if (r.mode == 'U') {
          ++text;
          conn->setSchema(sql::SQLString(r.sql));
        } else if (r.mode == 'T') {
          ++text;
          const bool has_result = plain->execute(sql::SQLString(r.sql));
          drain(*plain, has_result);
        } else {
          ++prepared;
          auto it = cache.find(r.sql);
          if (it == cache.end()) {
            std::unique_ptr<sql::PreparedStatement> ps(
                conn->prepareStatement(sql::SQLString(r.sql)));
            it = cache.emplace(r.sql, std::move(ps)).first;
          }
          std::vector<std::unique_ptr<std::istringstream>> blobs;
          bind(*it->second, r.params, blobs);
          const bool has_result = it->second->execute();
          drain(*it->second, has_result);
        }
        if (is_schema_change(r.sql)) {
          cache.clear();
        }
      } catch (sql::SQLException& e) {
        ++errors;
        std::cout << "ERR " << records << " " << e.getErrorCode() << " " << e.getSQLState() << " "
                  << e.what() << " :: " << head_of(r.sql) << std::endl;
        cache.erase(r.sql);
      }
    }
    conn->close();
  } catch (sql::SQLException& e) {
    ++errors;
    std::cout << "ERR connection " << e.getErrorCode() << " " << e.getSQLState() << " " << e.what()
              << std::endl;
  } catch (std::exception& e) {
    ++errors;
    std::cout << "ERR input " << e.what() << std::endl;
  }
  std::cout << "ps_replay: " << records << " records, " << prepared << " prepared, " << text
            << " text, " << errors << " errors" << std::endl;
  return errors == 0 && records > 0 ? 0 : 1;
}
