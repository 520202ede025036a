// A real MariaDB Connector/C (libmariadb) client for the transparent-proxy integration test:
// the command family that higher-level connectors do not reach.
//
//   capi_client HOST PORT USER PASSWORD DATABASE OTHER_USER OTHER_PASSWORD
//
// Exercises, through whatever listens on HOST:PORT: server-side cursors (COM_STMT_FETCH, two
// open at once), COM_STMT_SEND_LONG_DATA, COM_STMT_RESET, COM_STMT_CLOSE, the binary protocol
// with every common parameter and column type, COM_STATISTICS, COM_FIELD_LIST, COM_PING,
// COM_SET_OPTION, COM_RESET_CONNECTION, COM_CHANGE_USER, COM_INIT_DB, multi-statements with
// several result sets, affected rows, insert ids, info strings and warnings. Prints one line per
// failed check; exit code 0 only if every check held.

#include <mysql.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

int checks = 0;
int failures = 0;

void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::cout << "FAIL: " << what << "\n";
  }
}

[[noreturn]] void die(MYSQL* m, const std::string& what) {
  std::cout << "FATAL: " << what << ": " << mysql_errno(m) << " " << mysql_error(m) << "\n";
  std::exit(2);
}

[[noreturn]] void die(MYSQL_STMT* s, const std::string& what) {
  std::cout << "FATAL: " << what << ": " << mysql_stmt_errno(s) << " " << mysql_stmt_error(s)
            << "\n";
  std::exit(2);
}

void run(MYSQL* m, const std::string& sql) {
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) {
    die(m, sql);
  }
  // Drain every result so the connection is ready for the next command.
  do {
    if (MYSQL_RES* r = mysql_store_result(m)) {
      mysql_free_result(r);
    }
  } while (mysql_next_result(m) == 0);
}

// The first column of the first row of a one-statement query, as text ("NULL" for NULL).
std::string scalar(MYSQL* m, const std::string& sql) {
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) {
    die(m, sql);
  }
  MYSQL_RES* r = mysql_store_result(m);
  if (!r) {
    die(m, "no result for " + sql);
  }
  MYSQL_ROW row = mysql_fetch_row(r);
  std::string out = row && row[0] ? row[0] : "NULL";
  mysql_free_result(r);
  return out;
}

MYSQL_STMT* prepare(MYSQL* m, const std::string& sql) {
  MYSQL_STMT* s = mysql_stmt_init(m);
  if (!s || mysql_stmt_prepare(s, sql.data(), sql.size()) != 0) {
    die(m, "prepare " + sql);
  }
  return s;
}

void set_cursor(MYSQL_STMT* s, unsigned long prefetch) {
  unsigned long type = CURSOR_TYPE_READ_ONLY;
  mysql_stmt_attr_set(s, STMT_ATTR_CURSOR_TYPE, &type);
  mysql_stmt_attr_set(s, STMT_ATTR_PREFETCH_ROWS, &prefetch);
}

struct IntRow {
  long long id = 0;
  char text[64] = {};
  unsigned long text_len = 0;
  MYSQL_BIND bind[2] = {};
  void attach(MYSQL_STMT* s) {
    bind[0].buffer_type = MYSQL_TYPE_LONGLONG;
    bind[0].buffer = &id;
    bind[1].buffer_type = MYSQL_TYPE_STRING;
    bind[1].buffer = text;
    bind[1].buffer_length = sizeof text;
    bind[1].length = &text_len;
    if (mysql_stmt_bind_result(s, bind) != 0) {
      die(s, "bind result");
    }
  }
};

void cursors(MYSQL* m) {
  // One cursor read to the end in small fetches: every fetch is a COM_STMT_FETCH round trip.
  MYSQL_STMT* s = prepare(m, "SELECT seq, REPEAT('c', seq % 40) FROM seq_1_to_1000 WHERE seq > ?");
  set_cursor(s, 7);
  long long floor = 0;
  MYSQL_BIND param = {};
  param.buffer_type = MYSQL_TYPE_LONGLONG;
  param.buffer = &floor;
  mysql_stmt_bind_param(s, &param);
  if (mysql_stmt_execute(s) != 0) {
    die(s, "execute with cursor");
  }
  check((m->server_status & SERVER_STATUS_CURSOR_EXISTS) != 0, "cursor exists after execute");
  IntRow row;
  row.attach(s);
  long long n = 0;
  long long sum = 0;
  bool texts_ok = true;
  while (mysql_stmt_fetch(s) == 0) {
    ++n;
    sum += row.id;
    texts_ok = texts_ok && row.text_len == static_cast<unsigned long>(row.id % 40);
  }
  check(n == 1000, "cursor row count " + std::to_string(n));
  check(sum == 500500, "cursor row sum " + std::to_string(sum));
  check(texts_ok, "cursor string column lengths");

  // Two cursors open at once, fetched alternately; then a reset in the middle of one.
  MYSQL_STMT* a = prepare(m, "SELECT seq, 'a' FROM seq_1_to_50");
  MYSQL_STMT* b = prepare(m, "SELECT seq * 10, 'b' FROM seq_1_to_50");
  set_cursor(a, 3);
  set_cursor(b, 5);
  if (mysql_stmt_execute(a) != 0 || mysql_stmt_execute(b) != 0) {
    die(m, "execute two cursors");
  }
  IntRow ra;
  IntRow rb;
  ra.attach(a);
  rb.attach(b);
  bool interleaved_ok = true;
  for (int i = 1; i <= 20; ++i) {
    interleaved_ok = interleaved_ok && mysql_stmt_fetch(a) == 0 && ra.id == i;
    interleaved_ok = interleaved_ok && mysql_stmt_fetch(b) == 0 && rb.id == i * 10;
  }
  check(interleaved_ok, "two interleaved cursors");
  check(mysql_stmt_reset(a) == 0, "COM_STMT_RESET in the middle of a cursor");
  if (mysql_stmt_execute(a) != 0) {
    die(a, "re-execute after reset");
  }
  ra.attach(a);
  check(mysql_stmt_fetch(a) == 0 && ra.id == 1, "after reset the cursor starts again");
  mysql_stmt_close(a);
  mysql_stmt_close(b);
  mysql_stmt_close(s);
  check(scalar(m, "SELECT 'in step after cursors'") == "in step after cursors",
        "connection in step after cursors");
}

void long_data(MYSQL* m) {
  run(m, "DROP TABLE IF EXISTS capi_blobs");
  run(m, "CREATE TABLE capi_blobs (id INT PRIMARY KEY, b LONGBLOB)");
  MYSQL_STMT* s = prepare(m, "INSERT INTO capi_blobs VALUES (?, ?)");
  int id = 7;
  MYSQL_BIND p[2] = {};
  p[0].buffer_type = MYSQL_TYPE_LONG;
  p[0].buffer = &id;
  p[1].buffer_type = MYSQL_TYPE_LONG_BLOB;
  mysql_stmt_bind_param(s, p);
  std::string expected;
  for (int chunk = 0; chunk < 5; ++chunk) {
    std::string data(300 * 1024, static_cast<char>('a' + chunk));
    data[17] = '\0';  // binary-safe
    expected += data;
    if (mysql_stmt_send_long_data(s, 1, data.data(), data.size()) != 0) {
      die(s, "send long data");
    }
  }
  if (mysql_stmt_execute(s) != 0) {
    die(s, "execute after long data");
  }
  check(mysql_stmt_affected_rows(s) == 1, "long data insert affected 1 row");
  mysql_stmt_close(s);
  check(
      scalar(m, "SELECT LENGTH(b) FROM capi_blobs WHERE id = 7") == std::to_string(expected.size()),
      "long data length");
  check(
      scalar(m, "SELECT SUBSTRING(b, 300 * 1024 * 3 + 1, 3) FROM capi_blobs WHERE id = 7") == "ddd",
      "long data chunks in order");
}

void binary_types(MYSQL* m) {
  run(m, "DROP TABLE IF EXISTS capi_types");
  run(m,
      "CREATE TABLE capi_types (t TINYINT, s SMALLINT, i INT, b BIGINT UNSIGNED, f FLOAT, "
      "d DOUBLE, dec1 DECIMAL(20,6), dt DATETIME(6), da DATE, tm TIME(3), v VARCHAR(20), "
      "n INT NULL)");
  MYSQL_STMT* s = prepare(m, "INSERT INTO capi_types VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  signed char t = -100;
  short sm = -30000;
  int i = 2000000000;
  unsigned long long big = 18446744073709551615ULL;
  float f = 1.5f;
  double d = -2.25e100;
  std::string dec = "-12345678901234.123456";
  MYSQL_TIME dt = {};
  dt.year = 2024;
  dt.month = 2;
  dt.day = 29;
  dt.hour = 23;
  dt.minute = 59;
  dt.second = 58;
  dt.second_part = 123456;
  dt.time_type = MYSQL_TIMESTAMP_DATETIME;
  MYSQL_TIME da = {};
  da.year = 1999;
  da.month = 12;
  da.day = 31;
  da.time_type = MYSQL_TIMESTAMP_DATE;
  MYSQL_TIME tm = {};
  tm.neg = 1;
  tm.hour = 100;  // libmariadb keeps hours in a byte when reading binary TIME
  tm.minute = 59;
  tm.second = 58;
  tm.second_part = 999000;
  tm.time_type = MYSQL_TIMESTAMP_TIME;
  std::string v = "héllo wörld";
  my_bool is_null = 1;
  MYSQL_BIND p[12] = {};
  p[0].buffer_type = MYSQL_TYPE_TINY;
  p[0].buffer = &t;
  p[1].buffer_type = MYSQL_TYPE_SHORT;
  p[1].buffer = &sm;
  p[2].buffer_type = MYSQL_TYPE_LONG;
  p[2].buffer = &i;
  p[3].buffer_type = MYSQL_TYPE_LONGLONG;
  p[3].buffer = &big;
  p[3].is_unsigned = 1;
  p[4].buffer_type = MYSQL_TYPE_FLOAT;
  p[4].buffer = &f;
  p[5].buffer_type = MYSQL_TYPE_DOUBLE;
  p[5].buffer = &d;
  p[6].buffer_type = MYSQL_TYPE_NEWDECIMAL;
  p[6].buffer = dec.data();
  p[6].buffer_length = dec.size();
  p[7].buffer_type = MYSQL_TYPE_DATETIME;
  p[7].buffer = &dt;
  p[8].buffer_type = MYSQL_TYPE_DATE;
  p[8].buffer = &da;
  p[9].buffer_type = MYSQL_TYPE_TIME;
  p[9].buffer = &tm;
  p[10].buffer_type = MYSQL_TYPE_STRING;
  p[10].buffer = v.data();
  p[10].buffer_length = v.size();
  p[11].buffer_type = MYSQL_TYPE_LONG;
  p[11].is_null = &is_null;
  mysql_stmt_bind_param(s, p);
  if (mysql_stmt_execute(s) != 0) {
    die(s, "execute typed insert");
  }
  mysql_stmt_close(s);
  const std::string stored =
      scalar(m,
             "SELECT CONCAT_WS('|', t, s, i, b, f, d, dec1, dt, da, tm, v, IFNULL(n, 'null')) "
             "FROM capi_types");
  check(stored ==
            "-100|-30000|2000000000|18446744073709551615|1.5|-2.25e100|"
            "-12345678901234.123456|2024-02-29 23:59:58.123456|1999-12-31|-100:59:58.999|"
            "héllo wörld|null",
        "binary parameters stored exactly: " + stored);

  // And back through the binary result protocol.
  MYSQL_STMT* q = prepare(m, "SELECT t, b, d, dt, tm, v, n FROM capi_types");
  if (mysql_stmt_execute(q) != 0) {
    die(q, "execute typed select");
  }
  signed char ot = 0;
  unsigned long long ob = 0;
  double od = 0;
  MYSQL_TIME odt = {};
  MYSQL_TIME otm = {};
  char ov[64] = {};
  unsigned long ov_len = 0;
  int on = 0;
  my_bool on_null = 0;
  MYSQL_BIND r[7] = {};
  r[0].buffer_type = MYSQL_TYPE_TINY;
  r[0].buffer = &ot;
  r[1].buffer_type = MYSQL_TYPE_LONGLONG;
  r[1].buffer = &ob;
  r[1].is_unsigned = 1;
  r[2].buffer_type = MYSQL_TYPE_DOUBLE;
  r[2].buffer = &od;
  r[3].buffer_type = MYSQL_TYPE_DATETIME;
  r[3].buffer = &odt;
  r[4].buffer_type = MYSQL_TYPE_TIME;
  r[4].buffer = &otm;
  r[5].buffer_type = MYSQL_TYPE_STRING;
  r[5].buffer = ov;
  r[5].buffer_length = sizeof ov;
  r[5].length = &ov_len;
  r[6].buffer_type = MYSQL_TYPE_LONG;
  r[6].buffer = &on;
  r[6].is_null = &on_null;
  mysql_stmt_bind_result(q, r);
  check(mysql_stmt_fetch(q) == 0, "fetch typed row");
  check(ot == -100 && ob == big && od == d, "binary integers and double");
  check(odt.year == 2024 && odt.day == 29 && odt.second_part == 123456, "binary datetime");
  check(otm.neg == 1 && otm.hour == 100 && otm.second_part == 999000,
        "binary negative time: " + std::to_string(otm.neg) + " " + std::to_string(otm.hour) + " " +
            std::to_string(otm.second_part));
  check(std::string(ov, ov_len) == v, "binary string");
  check(on_null == 1, "binary NULL");
  check(mysql_stmt_fetch(q) == MYSQL_NO_DATA, "one typed row");
  mysql_stmt_close(q);
}

void commands(MYSQL* m, const char* db, const char* other_user, const char* other_password,
              const char* user, const char* password) {
  const char* stat = mysql_stat(m);
  check(stat && std::strncmp(stat, "Uptime:", 7) == 0,
        std::string("COM_STATISTICS: ") + (stat ? stat : "null"));
  check(mysql_ping(m) == 0, "COM_PING");

  run(m, "DROP TABLE IF EXISTS capi_fields");
  run(m, "CREATE TABLE capi_fields (alpha INT, beta VARCHAR(10), gamma_long_name DATETIME)");
  if (MYSQL_RES* r = mysql_list_fields(m, "capi_fields", nullptr)) {
    check(mysql_num_fields(r) == 3, "COM_FIELD_LIST field count");
    MYSQL_FIELD* f = mysql_fetch_fields(r);
    check(std::string(f[0].name) == "alpha" && std::string(f[2].name) == "gamma_long_name",
          "COM_FIELD_LIST names");
    mysql_free_result(r);
  } else {
    check(false, std::string("COM_FIELD_LIST: ") + mysql_error(m));
  }

  // Several statements, several results, affected rows, insert ids and info strings.
  run(m, "DROP TABLE IF EXISTS capi_multi");
  run(m, "CREATE TABLE capi_multi (id INT AUTO_INCREMENT PRIMARY KEY, v INT)");
  const std::string multi =
      "SELECT 1; INSERT INTO capi_multi (v) VALUES (10), (20), (30); SELECT 2, 3; "
      "UPDATE capi_multi SET v = v + 1 WHERE v > 10";
  check(mysql_real_query(m, multi.data(), multi.size()) == 0, "multi-statement query");
  int results = 0;
  bool insert_ok = false;
  bool update_ok = false;
  do {
    MYSQL_RES* r = mysql_store_result(m);
    if (r) {
      mysql_free_result(r);
    } else if (results == 1) {
      insert_ok = mysql_affected_rows(m) == 3 && mysql_insert_id(m) == 1 && mysql_info(m) &&
                  std::string(mysql_info(m)).find("Records: 3") != std::string::npos;
    } else if (results == 3) {
      update_ok = mysql_affected_rows(m) == 2 && mysql_info(m) &&
                  std::string(mysql_info(m)).find("Rows matched: 2") != std::string::npos;
    }
    ++results;
  } while (mysql_next_result(m) == 0);
  check(results == 4, "four results, got " + std::to_string(results));
  check(insert_ok, "multi-row insert: affected rows, insert id and info");
  check(update_ok, "update: affected rows and info");

  run(m, "SET SESSION sql_mode = ''");
  run(m, "SELECT CAST('12abc' AS SIGNED)");
  check(mysql_warning_count(m) == 1, "warning count");

  // COM_SET_OPTION: multi-statements off, then on again.
  check(mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_OFF) == 0, "set option off");
  check(mysql_query(m, "SELECT 1; SELECT 2") != 0, "multi-statements refused when off");
  check(mysql_set_server_option(m, MYSQL_OPTION_MULTI_STATEMENTS_ON) == 0, "set option on");
  run(m, "SELECT 1; SELECT 2");

  // COM_RESET_CONNECTION: session state gone, prepared statements gone.
  run(m, "SET @kept = 42");
  MYSQL_STMT* s = prepare(m, "SELECT 1");
  check(mysql_reset_connection(m) == 0, "COM_RESET_CONNECTION");
  check(scalar(m, "SELECT @kept") == "NULL", "user variable cleared by reset");
  check(mysql_stmt_execute(s) != 0, "statement gone after reset");
  mysql_stmt_close(s);

  // COM_CHANGE_USER to another account and back; COM_INIT_DB.
  check(mysql_change_user(m, other_user, other_password, db) == 0,
        std::string("COM_CHANGE_USER: ") + mysql_error(m));
  check(scalar(m, "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)") == other_user,
        "current user after change");
  check(mysql_change_user(m, other_user, "wrong-password", db) != 0 && mysql_errno(m) == 1045,
        "COM_CHANGE_USER with a wrong password is refused with 1045");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::cerr << "usage: capi_client HOST PORT USER PASSWORD DATABASE OTHER_USER OTHER_PASSWORD\n";
    return 2;
  }
  const char* host = argv[1];
  const unsigned port = static_cast<unsigned>(std::atoi(argv[2]));
  const char* user = argv[3];
  const char* password = argv[4];
  const char* db = argv[5];
  MYSQL* m = mysql_init(nullptr);
  if (!mysql_real_connect(m, host, user, password, db, port, nullptr, CLIENT_MULTI_STATEMENTS)) {
    die(m, "connect");
  }
  cursors(m);
  long_data(m);
  binary_types(m);
  commands(m, db, argv[6], argv[7], user, password);
  mysql_close(m);

  // A second connection: COM_INIT_DB and a fresh login after the first one's change-user.
  MYSQL* m2 = mysql_init(nullptr);
  if (!mysql_real_connect(m2, host, user, password, nullptr, port, nullptr, 0)) {
    die(m2, "connect without a database");
  }
  check(mysql_select_db(m2, db) == 0, "COM_INIT_DB");
  check(scalar(m2, "SELECT DATABASE()") == db, "database after COM_INIT_DB");
  check(
      mysql_select_db(m2, "test_no_such_database") != 0 && mysql_errno(m2) == 1049,
      "COM_INIT_DB to a missing database is refused with 1049: " + std::to_string(mysql_errno(m2)));
  mysql_close(m2);

  std::cout << checks << " checks, " << failures << " failures\n";
  return failures == 0 ? 0 : 1;
}
