// Golden-byte tests for OK / ERR / EOF: one table per message, decoded and encoded.
// Sources: the MySQL protocol documentation's examples (dev.mysql.com page_protocol_basic_*),
// and captures from MariaDB 10.11.19 (tests/protocol/capture, see golden_mariadb.h).

#include "protocol/packets.h"

#include <gtest/gtest.h>

#include "protocol/constants.h"
#include "protocol/golden_mariadb.h"
#include "protocol/test_util.h"

namespace ghostgate::protocol {
namespace {

using testing::ByteVec;
using testing::hex;
using testing::payload_of;

// The capabilities cap.py negotiated with MariaDB (CLIENT_DEPRECATE_EOF added for deof_*).
constexpr Capabilities capture_caps = cap::long_password | cap::found_rows | cap::long_flag |
                                      cap::connect_with_db | cap::local_files | cap::protocol_41 |
                                      cap::transactions | cap::secure_connection |
                                      cap::multi_statements | cap::multi_results |
                                      cap::ps_multi_results | cap::plugin_auth | cap::session_track;
constexpr Capabilities capture_caps_deof = capture_caps | cap::deprecate_eof;

template <std::size_t N>
ByteVec golden_payload(const std::uint8_t (&frames)[N], std::size_t index = 0) {
  auto packets = testing::packets_of(Bytes(frames, N));
  EXPECT_LT(index, packets.size());
  return index < packets.size() ? packets[index] : ByteVec{};
}

// ---- OK --------------------------------------------------------------------------------------

struct OkCase {
  std::string name;
  ByteVec payload;
  Capabilities caps;
  OkPacket expected;
};

void PrintTo(const OkCase& c, std::ostream* os) { *os << c.name; }

class OkGolden : public ::testing::TestWithParam<OkCase> {};

TEST_P(OkGolden, Decodes) {
  const OkCase& c = GetParam();
  OkPacket ok;
  ASSERT_FALSE(parse_ok(c.payload, c.caps, ok));
  EXPECT_EQ(ok.header, c.expected.header);
  EXPECT_EQ(ok.affected_rows, c.expected.affected_rows);
  EXPECT_EQ(ok.last_insert_id, c.expected.last_insert_id);
  EXPECT_EQ(ok.status, c.expected.status);
  EXPECT_EQ(ok.warnings, c.expected.warnings);
  EXPECT_EQ(ok.info, c.expected.info);
  EXPECT_EQ(ok.session_state, c.expected.session_state);
}

TEST_P(OkGolden, Encodes) {
  const OkCase& c = GetParam();
  ByteVec out;
  Writer w(out);
  serialize_ok(c.expected, c.caps, w);
  EXPECT_EQ(out, c.payload);
}

TEST_P(OkGolden, EveryTruncationFails) {
  const OkCase& c = GetParam();
  // Up to the warnings every field is mandatory. After them the info (and session state) are
  // optional, so a cut there may decode, but only to the same fixed fields with an empty or
  // shortened tail: never to different values.
  const std::size_t fixed_end = 1 + lenenc_int_size(c.expected.affected_rows) +
                                lenenc_int_size(c.expected.last_insert_id) + 4;
  for (std::size_t n = 0; n < c.payload.size(); ++n) {
    OkPacket ok;
    const auto ec = parse_ok(Bytes(c.payload.data(), n), c.caps, ok);
    if (n < fixed_end) {
      EXPECT_TRUE(testing::is_truncation_error(ec)) << n << " " << ec.message();
      continue;
    }
    if (ec) {
      EXPECT_TRUE(testing::is_truncation_error(ec)) << n << " " << ec.message();
      continue;
    }
    EXPECT_EQ(ok.affected_rows, c.expected.affected_rows) << n;
    EXPECT_EQ(ok.status, c.expected.status) << n;
    EXPECT_TRUE(c.expected.info.starts_with(ok.info)) << n;
    EXPECT_TRUE(ok.session_state.empty()) << n;
  }
}

std::vector<OkCase> ok_cases() {
  using namespace golden;
  std::vector<OkCase> v;
  // dev.mysql.com page_protocol_basic_ok_packet: "OK with CLIENT_PROTOCOL_41. 0 affected rows,
  // last-insert-id was 0, AUTOCOMMIT, 0 warnings. No further info."
  v.push_back({"doc_ok", payload_of(hex("07 00 00 02 00 00 00 02 00 00 00")), cap::protocol_41,
               OkPacket{ok_header, 0, 0, status::autocommit, 0, "", ""}});
  // MariaDB 10.11 after login with a default database: session state carries the schema.
  v.push_back({"mariadb_auth_ok_session_state", golden_payload(eof_auth_ok_response), capture_caps,
               OkPacket{ok_header, 0, 0, status::autocommit | status::session_state_changed, 0, "",
                        std::string_view("\x01\x03\x02gg", 5)}});
  v.push_back({"mariadb_update_info", golden_payload(eof_update_info_response), capture_caps,
               OkPacket{ok_header, 2, 0, status::autocommit | status::no_index_used, 0,
                        "Rows matched: 2  Changed: 0  Warnings: 0", ""}});
  v.push_back({"mariadb_insert", golden_payload(eof_insert_response), capture_caps,
               OkPacket{ok_header, 2, 0, status::autocommit, 0,
                        "Records: 2  Duplicates: 0  Warnings: 0", ""}});
  v.push_back({"mariadb_begin", golden_payload(eof_begin_response), capture_caps,
               OkPacket{ok_header, 0, 0, status::autocommit | status::in_trans, 0, "", ""}});
  v.push_back({"mariadb_init_db", golden_payload(eof_init_db_response), capture_caps,
               OkPacket{ok_header, 0, 0, status::autocommit | status::session_state_changed, 0, "",
                        std::string_view("\x01\x03\x02gg", 5)}});
  v.push_back({"mariadb_local_infile_done", golden_payload(eof_local_infile_final_response),
               capture_caps,
               OkPacket{ok_header, 2, 0, status::autocommit, 0,
                        "Records: 2  Deleted: 0  Skipped: 0  Warnings: 0", ""}});
  // CLIENT_DEPRECATE_EOF: the OK (0xfe) that ends the rows of `SELECT id FROM t WHERE id < 0`.
  v.push_back({"mariadb_ok_as_eof", golden_payload(deof_empty_result_response, 2),
               capture_caps_deof, OkPacket{eof_header, 0, 0, status::autocommit, 0, "", ""}});
  // ... and after the column definitions of a cursor: CURSOR_EXISTS.
  v.push_back(
      {"mariadb_ok_as_eof_cursor", golden_payload(deof_execute_cursor_response, 20),
       capture_caps_deof,
       OkPacket{eof_header, 0, 0,
                status::autocommit | status::cursor_exists | status::no_index_used, 0, "", ""}});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Golden, OkGolden, ::testing::ValuesIn(ok_cases()),
                         [](const auto& info) { return info.param.name; });

// ---- ERR -------------------------------------------------------------------------------------

struct ErrCase {
  std::string name;
  ByteVec payload;
  Capabilities caps;
  ErrPacket expected;
};

void PrintTo(const ErrCase& c, std::ostream* os) { *os << c.name; }

class ErrGolden : public ::testing::TestWithParam<ErrCase> {};

TEST_P(ErrGolden, Decodes) {
  const ErrCase& c = GetParam();
  ErrPacket err;
  ASSERT_FALSE(parse_err(c.payload, c.caps, err));
  EXPECT_EQ(err.code, c.expected.code);
  EXPECT_EQ(err.sql_state, c.expected.sql_state);
  EXPECT_EQ(err.message, c.expected.message);
}

TEST_P(ErrGolden, Encodes) {
  const ErrCase& c = GetParam();
  ByteVec out;
  Writer w(out);
  serialize_err(c.expected, c.caps, w);
  EXPECT_EQ(out, c.payload);
}

TEST_P(ErrGolden, TruncationInsideHeaderFails) {
  const ErrCase& c = GetParam();
  // Header, code, '#' and the 5-character state are fixed; the message is string<EOF>.
  for (std::size_t n = 0; n < 3; ++n) {
    ErrPacket err;
    EXPECT_TRUE(testing::is_truncation_error(parse_err(Bytes(c.payload.data(), n), c.caps, err)))
        << n;
  }
  for (std::size_t n = 4; n < 9 && n < c.payload.size(); ++n) {
    ErrPacket err;
    EXPECT_TRUE(testing::is_truncation_error(parse_err(Bytes(c.payload.data(), n), c.caps, err)))
        << n;
  }
}

std::vector<ErrCase> err_cases() {
  using namespace golden;
  return {
      // dev.mysql.com page_protocol_basic_err_packet example.
      {"doc_err",
       payload_of(hex("17 00 00 01 ff 48 04 23 48 59 30 30 30 4e 6f 20 74 61 62 6c 65 73 20 75 73 "
                      "65 64")),
       cap::protocol_41, ErrPacket{1096, "HY000", "No tables used"}},
      {"mariadb_no_table", golden_payload(eof_err_no_table_response), capture_caps,
       ErrPacket{1146, "42S02", "Table 'gg.nope' doesn't exist"}},
      {"mariadb_unknown_db", golden_payload(eof_init_db_err_response), capture_caps,
       ErrPacket{1049, "42000", "Unknown database 'nope'"}},
      {"mariadb_unknown_stmt", golden_payload(eof_execute_closed_response), capture_caps,
       ErrPacket{1243, "HY000",
                 "Unknown prepared statement handler (1) given to mysqld_stmt_execute"}},
      // Row data, then the error (a subquery returning two rows) after the column definitions.
      {"mariadb_mid_rows", golden_payload(eof_err_mid_rows_response, 4), capture_caps,
       ErrPacket{1242, "21000", "Subquery returns more than 1 row"}},
  };
}

INSTANTIATE_TEST_SUITE_P(Golden, ErrGolden, ::testing::ValuesIn(err_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Err, WithoutProtocol41HasNoState) {
  const ByteVec p = hex("ff 48 04 4e 6f");
  ErrPacket err;
  ASSERT_FALSE(parse_err(p, 0, err));
  EXPECT_EQ(err.code, 1096);
  EXPECT_EQ(err.sql_state, "");
  EXPECT_EQ(err.message, "No");
  ByteVec out;
  Writer w(out);
  serialize_err(err, 0, w);
  EXPECT_EQ(out, p);
}

TEST(Err, AppendErrDefaultsStateToHY000) {
  ByteVec out;
  std::uint8_t seq = 1;
  append_err(out, seq, cap::protocol_41, 1096, "", "No tables used");
  EXPECT_EQ(out, hex("17 00 00 01 ff 48 04 23 48 59 30 30 30 4e 6f 20 74 61 62 6c 65 73 20 75 73 "
                     "65 64"));
  EXPECT_EQ(seq, 2);
}

// ---- EOF -------------------------------------------------------------------------------------

struct EofCase {
  std::string name;
  ByteVec payload;
  EofPacket expected;
};

void PrintTo(const EofCase& c, std::ostream* os) { *os << c.name; }

class EofGolden : public ::testing::TestWithParam<EofCase> {};

TEST_P(EofGolden, Decodes) {
  EofPacket eof;
  ASSERT_FALSE(parse_eof(GetParam().payload, eof));
  EXPECT_EQ(eof.warnings, GetParam().expected.warnings);
  EXPECT_EQ(eof.status, GetParam().expected.status);
  EXPECT_EQ(terminator_status(GetParam().payload, cap::protocol_41), GetParam().expected.status);
}

TEST_P(EofGolden, Encodes) {
  ByteVec out;
  Writer w(out);
  serialize_eof(GetParam().expected, w);
  EXPECT_EQ(out, GetParam().payload);
}

TEST_P(EofGolden, EveryTruncationFails) {
  const ByteVec& p = GetParam().payload;
  for (std::size_t n = 0; n < p.size(); ++n) {
    EofPacket eof;
    EXPECT_TRUE(testing::is_truncation_error(parse_eof(Bytes(p.data(), n), eof))) << n;
  }
}

std::vector<EofCase> eof_cases() {
  using namespace golden;
  return {
      // dev.mysql.com page_protocol_basic_eof_packet: "0 warnings, AUTOCOMMIT enabled".
      {"doc_eof", payload_of(hex("05 00 00 05 fe 00 00 02 00")), EofPacket{0, status::autocommit}},
      // The EOF after the column definitions of a COM_STMT_EXECUTE that opened a cursor.
      {"mariadb_cursor", golden_payload(eof_execute_cursor_response, 20),
       EofPacket{0, status::autocommit | status::cursor_exists | status::no_index_used}},
      // COM_STMT_FETCH past the last row.
      {"mariadb_last_row_sent", golden_payload(eof_fetch_end_response),
       EofPacket{0, status::autocommit | status::last_row_sent}},
      // SELECT 1/0: one warning.
      {"mariadb_warning", golden_payload(eof_warning_response, 4),
       EofPacket{1, status::autocommit}},
      // The first result of CALL: more results follow.
      {"mariadb_more_results", golden_payload(eof_call_two_response, 4),
       EofPacket{0, status::autocommit | status::more_results_exists}},
  };
}

INSTANTIATE_TEST_SUITE_P(Golden, EofGolden, ::testing::ValuesIn(eof_cases()),
                         [](const auto& info) { return info.param.name; });

// ---- Failure table -----------------------------------------------------------------------------

struct Failure {
  const char* name;
  const char* hex;
  Capabilities caps;
  Errc expected;
};

TEST(OkErrEofFailures, Table) {
  const Failure cases[] = {
      {"ok_empty", "", cap::protocol_41, Errc::truncated},
      {"ok_wrong_header", "01 00 00 02 00 00 00", cap::protocol_41, Errc::malformed},
      {"ok_lenenc_0xff", "00 ff 00 02 00 00 00", cap::protocol_41, Errc::malformed},
      {"ok_lenenc_0xfb", "00 fb 00 02 00 00 00", cap::protocol_41, Errc::malformed},
      {"ok_lenenc_short", "00 fc 01", cap::protocol_41, Errc::truncated},
      {"ok_lenenc_8_short", "00 fe 01 02 03 04 05 06 07", cap::protocol_41, Errc::truncated},
      {"ok_no_status", "00 00 00", cap::protocol_41, Errc::truncated},
      {"ok_info_past_end", "00 00 00 02 00 00 00 05 41", cap::protocol_41 | cap::session_track,
       Errc::truncated},
      {"ok_state_past_end", "00 00 00 02 40 00 00 00 05 01", cap::protocol_41 | cap::session_track,
       Errc::truncated},
  };
  for (const auto& c : cases) {
    OkPacket ok;
    EXPECT_EQ(parse_ok(hex(c.hex), c.caps, ok), make_error_code(c.expected)) << c.name;
  }
  const Failure errs[] = {
      {"err_empty", "", cap::protocol_41, Errc::truncated},
      {"err_wrong_header", "fe 48 04", cap::protocol_41, Errc::malformed},
      {"err_no_code", "ff 48", cap::protocol_41, Errc::truncated},
      {"err_state_short", "ff 48 04 23 48 59", cap::protocol_41, Errc::truncated},
  };
  for (const auto& c : errs) {
    ErrPacket err;
    EXPECT_EQ(parse_err(hex(c.hex), c.caps, err), make_error_code(c.expected)) << c.name;
  }
  const Failure eofs[] = {
      {"eof_empty", "", 0, Errc::truncated},
      {"eof_wrong_header", "00 00 00 02 00", 0, Errc::malformed},
      {"eof_short", "fe 00 00", 0, Errc::truncated},
      {"eof_too_long", "fe 00 00 02 00 00 00 00 00", 0, Errc::malformed},
      {"eof_extra", "fe 00 00 02 00 00", 0, Errc::malformed},
  };
  for (const auto& c : eofs) {
    EofPacket eof;
    EXPECT_EQ(parse_eof(hex(c.hex), eof), make_error_code(c.expected)) << c.name;
  }
}

TEST(Terminator, StatusOfOkAndEof) {
  EXPECT_EQ(terminator_status(hex("fe 00 00 0a 00"), cap::protocol_41),
            status::autocommit | status::more_results_exists);
  EXPECT_EQ(terminator_status(hex("fe 00 00 22 00 00 00"), cap::protocol_41 | cap::deprecate_eof),
            status::autocommit | status::no_index_used);
  EXPECT_EQ(terminator_status(hex("00 01 00 03 00 00 00"), cap::protocol_41),
            status::autocommit | status::in_trans);
  EXPECT_EQ(terminator_status(hex("ff 00"), cap::protocol_41), 0);
  EXPECT_EQ(terminator_status({}, cap::protocol_41), 0);
}

TEST(Packets, IsEofPacketNeedsShortPayload) {
  ByteVec big(max_frame_payload, 0);
  big[0] = eof_header;
  EXPECT_FALSE(is_eof_packet(big));
  EXPECT_TRUE(is_eof_packet(hex("fe 00 00 02 00")));
  EXPECT_TRUE(is_err_packet(hex("ff")));
  EXPECT_TRUE(is_ok_packet(hex("00")));
  EXPECT_FALSE(is_ok_packet({}));
}

}  // namespace
}  // namespace ghostgate::protocol
