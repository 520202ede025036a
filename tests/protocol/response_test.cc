// ResponseTracker on MariaDB 10.11.19's real responses (tests/protocol/golden_mariadb.h), fed
// whole, byte by byte and split into two chunks at every position, with bytes of a following
// packet behind the response that must not be consumed.

#include "protocol/response.h"

#include <gtest/gtest.h>

#include "protocol/constants.h"
#include "protocol/golden_mariadb.h"
#include "protocol/test_util.h"

namespace ghostgate::protocol {
namespace {

using testing::ByteVec;
using testing::hex;

constexpr Capabilities capture_caps = cap::long_password | cap::found_rows | cap::long_flag |
                                      cap::connect_with_db | cap::local_files | cap::protocol_41 |
                                      cap::transactions | cap::secure_connection |
                                      cap::multi_statements | cap::multi_results |
                                      cap::ps_multi_results | cap::plugin_auth | cap::session_track;
constexpr Capabilities capture_caps_deof = capture_caps | cap::deprecate_eof;

// Bytes of whatever comes next on the connection (here: another OK).
const ByteVec trailer = hex("07 00 00 01 00 00 00 02 00 00 00");

struct Expect {
  std::uint32_t results = 1;
  std::uint16_t status = status::autocommit;
  bool status_known = true;
  bool error = false;
  std::uint16_t error_code = 0;
  bool local_infile = false;
  std::uint32_t statement_id = 0;
  std::uint16_t params = 0;
  std::uint16_t columns = 0;
};

struct TrackerCase {
  std::string name;
  Command cmd;
  Capabilities caps;
  ByteVec response;
  Expect expect;
};
void PrintTo(const TrackerCase& c, std::ostream* os) { *os << c.name; }

// Feeds `stream` to a tracker; bytes arrive in chunks ending at `cuts` (then the rest). Like a
// proxy, whatever the tracker did not consume is offered again with the next chunk.
struct Fed {
  std::size_t consumed = 0;
  std::error_code ec;
};

Fed feed(ResponseTracker& t, const ByteVec& stream, const std::vector<std::size_t>& cuts) {
  Fed f;
  auto offer = [&](std::size_t avail) {
    if (t.done() || t.awaiting_local_infile() || f.ec) {
      return;
    }
    f.consumed += t.consume(Bytes(stream.data() + f.consumed, avail - f.consumed), f.ec);
  };
  for (std::size_t c : cuts) {
    offer(c);
  }
  offer(stream.size());
  return f;
}

void check(const ResponseTracker& t, const Fed& f, const TrackerCase& c, const std::string& how) {
  ASSERT_FALSE(f.ec) << how << ": " << f.ec.message();
  EXPECT_EQ(f.consumed, c.response.size()) << how;
  const Expect& e = c.expect;
  if (e.local_infile) {
    EXPECT_TRUE(t.awaiting_local_infile()) << how;
    return;
  }
  EXPECT_TRUE(t.done()) << how;
  EXPECT_EQ(t.results(), e.results) << how;
  EXPECT_EQ(t.ended_with_error(), e.error) << how;
  EXPECT_EQ(t.error_code(), e.error_code) << how;
  EXPECT_EQ(t.status_known(), e.status_known) << how;
  if (e.status_known) {
    EXPECT_EQ(t.status(), e.status) << how;
  }
  if (c.cmd == Command::stmt_prepare && !e.error) {
    EXPECT_EQ(t.statement_id(), e.statement_id) << how;
    EXPECT_EQ(t.param_count(), e.params) << how;
    EXPECT_EQ(t.column_count(), e.columns) << how;
  }
  // The next packet of the exchange carries the sequence id after the last one consumed.
  if (!c.response.empty()) {
    std::size_t pos = 0;
    std::uint8_t last = 0;
    while (pos < c.response.size()) {
      last = c.response[pos + 3];
      pos += 4 + (c.response[pos] | (c.response[pos + 1] << 8) | (c.response[pos + 2] << 16));
    }
    EXPECT_EQ(t.next_sequence(), static_cast<std::uint8_t>(last + 1)) << how;
  }
}

class TrackerGolden : public ::testing::TestWithParam<TrackerCase> {
 protected:
  ByteVec stream() const {
    ByteVec s = GetParam().response;
    s.insert(s.end(), trailer.begin(), trailer.end());
    return s;
  }
};

TEST_P(TrackerGolden, Whole) {
  ResponseTracker t;
  t.start(GetParam().cmd, GetParam().caps);
  const Fed f = feed(t, stream(), {});
  check(t, f, GetParam(), "whole");
}

TEST_P(TrackerGolden, ByteByByte) {
  const ByteVec s = stream();
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < s.size(); ++i) {
    cuts.push_back(i);
  }
  ResponseTracker t;
  t.start(GetParam().cmd, GetParam().caps);
  const Fed f = feed(t, s, cuts);
  check(t, f, GetParam(), "byte by byte");
}

TEST_P(TrackerGolden, EveryTwoChunkSplit) {
  const ByteVec s = stream();
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    ResponseTracker t;
    t.start(GetParam().cmd, GetParam().caps);
    const Fed f = feed(t, s, {cut});
    check(t, f, GetParam(), "split at " + std::to_string(cut));
    if (::testing::Test::HasFailure()) {
      return;
    }
  }
}

TEST_P(TrackerGolden, TruncatedResponseIsNeverDone) {
  const ByteVec& r = GetParam().response;
  for (std::size_t n = 0; n < r.size(); ++n) {
    ResponseTracker t;
    t.start(GetParam().cmd, GetParam().caps);
    std::error_code ec;
    const std::size_t used = t.consume(Bytes(r.data(), n), ec);
    EXPECT_FALSE(ec) << n;
    EXPECT_LE(used, n);
    EXPECT_FALSE(t.done()) << n;
    EXPECT_FALSE(t.awaiting_local_infile()) << n;
  }
}

template <std::size_t N>
ByteVec v(const std::uint8_t (&a)[N]) {
  return ByteVec(a, a + N);
}

std::vector<TrackerCase> tracker_cases() {
  using namespace golden;
  constexpr std::uint16_t ac = status::autocommit;
  std::vector<TrackerCase> c;
  for (const bool deof : {false, true}) {
    const Capabilities caps = deof ? capture_caps_deof : capture_caps;
    const std::string sfx = deof ? "_deof" : "_eof";
#define GG_PICK(name) (deof ? v(deof_##name) : v(eof_##name))
    c.push_back({"query_all_types" + sfx, Command::query, caps, GG_PICK(select_types_response),
                 Expect{1, ac | status::no_index_used}});
    c.push_back({"query_rows_with_null" + sfx, Command::query, caps, GG_PICK(select_t_response),
                 Expect{1, ac | status::no_index_used}});
    c.push_back({"query_empty_result" + sfx, Command::query, caps, GG_PICK(empty_result_response),
                 Expect{1, ac}});
    c.push_back(
        {"query_warning" + sfx, Command::query, caps, GG_PICK(warning_response), Expect{1, ac}});
    c.push_back({"update_ok" + sfx, Command::query, caps, GG_PICK(update_info_response),
                 Expect{1, ac | status::no_index_used}});
    c.push_back({"begin" + sfx, Command::query, caps, GG_PICK(begin_response),
                 Expect{1, ac | status::in_trans}});
    c.push_back({"err" + sfx, Command::query, caps, GG_PICK(err_no_table_response),
                 Expect{1, 0, false, true, 1146}});
    c.push_back({"err_after_columns" + sfx, Command::query, caps, GG_PICK(err_mid_rows_response),
                 Expect{1, static_cast<std::uint16_t>(deof ? 0 : ac | status::no_index_used), !deof,
                        true, 1242}});
    // CALL with two SELECTs: two result sets with MORE_RESULTS_EXISTS, then the CALL's OK.
    c.push_back({"call_two_selects" + sfx, Command::query, caps, GG_PICK(call_two_response),
                 Expect{3, ac}});
    c.push_back(
        {"multi_statement" + sfx, Command::query, caps, GG_PICK(multi_response), Expect{2, ac}});
    c.push_back({"multi_statement_error" + sfx, Command::query, caps, GG_PICK(multi_err_response),
                 Expect{2, ac | status::more_results_exists, true, true, 1146}});
    c.push_back({"prepare_params_and_columns" + sfx, Command::stmt_prepare, caps,
                 GG_PICK(prepare_select_response), Expect{1, 0, false, false, 0, false, 1, 2, 19}});
    c.push_back({"prepare_params_only" + sfx, Command::stmt_prepare, caps,
                 GG_PICK(prepare_insert_response), Expect{1, 0, false, false, 0, false, 2, 3, 0}});
    c.push_back({"prepare_columns_only" + sfx, Command::stmt_prepare, caps,
                 GG_PICK(prepare_noparam_response), Expect{1, 0, false, false, 0, false, 3, 0, 1}});
    c.push_back({"prepare_19_and_19" + sfx, Command::stmt_prepare, caps,
                 GG_PICK(prepare_echo_response), Expect{1, 0, false, false, 0, false, 5, 19, 19}});
    c.push_back({"prepare_err" + sfx, Command::stmt_prepare, caps, GG_PICK(prepare_err_response),
                 Expect{1, 0, false, true, 1146}});
    c.push_back({"execute_binary_rows" + sfx, Command::stmt_execute, caps,
                 GG_PICK(execute_select_response), Expect{1, ac | status::no_index_used}});
    c.push_back({"execute_every_type" + sfx, Command::stmt_execute, caps,
                 GG_PICK(execute_echo_response), Expect{1, ac}});
    c.push_back({"execute_ok" + sfx, Command::stmt_execute, caps, GG_PICK(execute_insert_response),
                 Expect{1, ac}});
    // CURSOR_TYPE_READ_ONLY: the response ends after the column definitions.
    c.push_back({"execute_cursor" + sfx, Command::stmt_execute, caps,
                 GG_PICK(execute_cursor_response),
                 Expect{1, ac | status::cursor_exists | status::no_index_used}});
    c.push_back({"fetch_row" + sfx, Command::stmt_fetch, caps, GG_PICK(fetch_response),
                 Expect{1, ac | status::cursor_exists}});
    c.push_back({"fetch_end" + sfx, Command::stmt_fetch, caps, GG_PICK(fetch_end_response),
                 Expect{1, ac | status::last_row_sent}});
    c.push_back({"execute_unknown_stmt" + sfx, Command::stmt_execute, caps,
                 GG_PICK(execute_closed_response), Expect{1, 0, false, true, 1243}});
    c.push_back({"stmt_reset" + sfx, Command::stmt_reset, caps, GG_PICK(stmt_reset_response),
                 Expect{1, ac}});
    c.push_back({"ping" + sfx, Command::ping, caps, GG_PICK(ping_response), Expect{1, ac}});
    c.push_back({"init_db" + sfx, Command::init_db, caps, GG_PICK(init_db_response),
                 Expect{1, ac | status::session_state_changed}});
    c.push_back({"init_db_err" + sfx, Command::init_db, caps, GG_PICK(init_db_err_response),
                 Expect{1, 0, false, true, 1049}});
    c.push_back({"statistics" + sfx, Command::statistics, caps, GG_PICK(statistics_response),
                 Expect{1, 0, false}});
    c.push_back({"field_list" + sfx, Command::field_list, caps, GG_PICK(field_list_response),
                 Expect{1, ac}});
    c.push_back({"reset_connection" + sfx, Command::reset_connection, caps,
                 GG_PICK(reset_connection_response), Expect{1, ac}});
    c.push_back({"local_infile_request" + sfx, Command::query, caps, GG_PICK(local_infile_response),
                 Expect{0, 0, false, false, 0, true}});
#undef GG_PICK
  }
  return c;
}

INSTANTIATE_TEST_SUITE_P(MariaDB, TrackerGolden, ::testing::ValuesIn(tracker_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Tracker, LocalInfilePauseAndResume) {
  for (const bool deof : {false, true}) {
    const ByteVec request =
        deof ? v(golden::deof_local_infile_response) : v(golden::eof_local_infile_response);
    const ByteVec upload = deof ? v(golden::deof_local_infile_upload_frames)
                                : v(golden::eof_local_infile_upload_frames);
    const ByteVec final_ok = deof ? v(golden::deof_local_infile_final_response)
                                  : v(golden::eof_local_infile_final_response);
    ResponseTracker t;
    t.start(Command::query, deof ? capture_caps_deof : capture_caps);
    ByteVec s = request;
    s.insert(s.end(), upload.begin(), upload.end());  // must not be taken as server bytes
    std::error_code ec;
    EXPECT_EQ(t.consume(s, ec), request.size());
    EXPECT_TRUE(t.awaiting_local_infile());
    EXPECT_EQ(t.consume(s, ec), 0u);  // paused
    t.resume_after_local_infile();
    ByteVec rest = final_ok;
    rest.insert(rest.end(), trailer.begin(), trailer.end());
    EXPECT_EQ(t.consume(rest, ec), final_ok.size());
    EXPECT_FALSE(ec);
    EXPECT_TRUE(t.done());
    EXPECT_EQ(t.results(), 1u);
    EXPECT_EQ(t.status(), status::autocommit);
    EXPECT_EQ(t.next_sequence(), 5);
  }
}

// A text row of 16 MiB + 84 bytes (SELECT REPEAT('x', 16777300) against MariaDB: the metadata
// and the frame layout are the captured ones; the 'x's are regenerated here).
ByteVec big_row_response(bool deof) {
  ByteVec s =
      hex("01 00 00 01 01 "
          "19 00 00 02 03 64 65 66 00 00 00 03 62 69 67 00 0c 2d 00 00 00 00 04 fb 00 00 27 00 00");
  std::uint8_t seq = 3;
  if (!deof) {
    const ByteVec eof = hex("05 00 00 03 fe 00 00 02 00");
    s.insert(s.end(), eof.begin(), eof.end());
    seq = 4;
  }
  ByteVec row = hex("fe 54 00 00 01 00 00 00 00");
  row.resize(row.size() + 16777300, 'x');
  append_packet(s, seq, row);
  const ByteVec end =
      deof ? hex("07 00 00 00 fe 00 00 02 00 00 00") : hex("05 00 00 00 fe 00 00 02 00");
  const std::size_t at = s.size();
  s.insert(s.end(), end.begin(), end.end());
  s[at + 3] = seq;
  return s;
}

TEST(Tracker, RowOver16MiBPassesThroughOpaquely) {
  for (const bool deof : {false, true}) {
    const ByteVec r = big_row_response(deof);
    ByteVec s = r;
    s.insert(s.end(), trailer.begin(), trailer.end());
    const Capabilities caps = deof ? capture_caps_deof : capture_caps;
    // Chunks of many sizes, including ones that cut frame headers and the 0xfe row start.
    for (std::size_t chunk : {1u << 20, 65536u, 4093u, 1000003u}) {
      ResponseTracker t;
      t.start(Command::query, caps);
      std::vector<std::size_t> cuts;
      for (std::size_t c = chunk; c < s.size(); c += chunk) {
        cuts.push_back(c);
      }
      const Fed f = feed(t, s, cuts);
      ASSERT_FALSE(f.ec);
      EXPECT_EQ(f.consumed, r.size()) << chunk;
      EXPECT_TRUE(t.done());
      EXPECT_EQ(t.results(), 1u);
      EXPECT_EQ(t.status(), status::autocommit);
    }
    // Splits right around the frame headers of the row.
    const std::size_t row_at = deof ? 34 : 43;
    for (std::size_t d : {0u, 1u, 3u, 4u, 5u, 12u}) {
      for (std::size_t base : {row_at, row_at + 4 + max_frame_payload}) {
        ResponseTracker t;
        t.start(Command::query, caps);
        const Fed f = feed(t, s, {base + d});
        ASSERT_FALSE(f.ec);
        EXPECT_EQ(f.consumed, r.size());
        EXPECT_TRUE(t.done());
      }
    }
  }
}

TEST(Tracker, ByteByByteThroughA16MiBRow) {
  const ByteVec r = big_row_response(true);
  ResponseTracker t;
  t.start(Command::query, capture_caps_deof);
  std::size_t pos = 0;
  std::error_code ec;
  for (std::size_t avail = 1; avail <= r.size() && !t.done(); ++avail) {
    pos += t.consume(Bytes(r.data() + pos, avail - pos), ec);
    ASSERT_FALSE(ec);
  }
  EXPECT_EQ(pos, r.size());
  EXPECT_TRUE(t.done());
}

TEST(Tracker, NoResponseCommands) {
  for (Command cmd : {Command::quit, Command::stmt_close, Command::stmt_send_long_data}) {
    ResponseTracker t;
    t.start(cmd, capture_caps);
    EXPECT_TRUE(t.done());
    std::error_code ec;
    EXPECT_EQ(t.consume(trailer, ec), 0u);
    EXPECT_FALSE(command_has_response(cmd));
  }
}

TEST(Tracker, PrepareDetailsAreResetByStart) {
  ResponseTracker t;
  t.start(Command::stmt_prepare, capture_caps);
  std::error_code ec;
  (void)t.consume(v(golden::eof_prepare_insert_response), ec);
  EXPECT_EQ(t.statement_id(), 2u);
  t.start(Command::stmt_prepare, capture_caps);
  (void)t.consume(v(golden::eof_prepare_err_response), ec);
  EXPECT_TRUE(t.ended_with_error());
  EXPECT_EQ(t.statement_id(), 0u);
  EXPECT_EQ(t.param_count(), 0u);
}

TEST(Tracker, ProtocolViolations) {
  struct {
    const char* name;
    Command cmd;
    Capabilities caps;
    const char* hex;
    Errc expected;
  } cases[] = {
      {"ok_truncated", Command::query, capture_caps, "01 00 00 01 00", Errc::malformed},
      {"column_count_truncated", Command::query, capture_caps, "02 00 00 01 fc 01",
       Errc::malformed},
      {"eof_truncated", Command::query, capture_caps,
       "01 00 00 01 01 03 00 00 02 01 02 03 02 00 00 03 fe 00", Errc::malformed},
      {"rows_terminator_truncated", Command::query, capture_caps,
       "01 00 00 01 01 03 00 00 02 01 02 03 05 00 00 03 fe 00 00 02 00 02 00 00 04 fe 00",
       Errc::malformed},
      {"empty_first_packet", Command::query, capture_caps, "00 00 00 01", Errc::malformed},
      {"row_instead_of_eof", Command::query, capture_caps,
       "01 00 00 01 01 03 00 00 02 01 02 03 02 00 00 03 01 31", Errc::unexpected_packet},
      {"prepare_not_ok", Command::stmt_prepare, capture_caps, "05 00 00 01 fe 00 00 02 00",
       Errc::malformed},
      {"prepare_short", Command::stmt_prepare, capture_caps, "03 00 00 01 00 01 00",
       Errc::malformed},
      {"huge_first_packet", Command::query, capture_caps, "ff ff ff 01 00",
       Errc::unexpected_packet},
  };
  for (const auto& c : cases) {
    ResponseTracker t;
    t.start(c.cmd, c.caps);
    std::error_code ec;
    (void)t.consume(hex(c.hex), ec);
    EXPECT_EQ(ec, make_error_code(c.expected)) << c.name;
  }
}

}  // namespace
}  // namespace ghostgate::protocol
