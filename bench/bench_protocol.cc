// Hot-path cost of the protocol library: what ghostgate does with every packet it relays
// (frames, the response tracker that finds where a response ends) and with every login
// (handshake parsing and re-encoding). Time per operation, bytes per second where the input is a
// byte stream, and heap allocations per operation.
//
//   build-bench/bench/ghostgate_bench --benchmark_filter='Frame|Handshake|Response|Upload'
//
// Inputs are real MariaDB 10.11 bytes where the project has them (tests/protocol/golden_mariadb.h,
// captured from the mariadb CLI and libmariadb sessions), and result streams built with the
// protocol's own serializers where a size must be chosen (sysbench's point select, a 10-column
// result, 1 MiB rows as in bench/compare.sh's bulk test).
//
// Counters: `allocs/op` heap allocations per iteration; `ns/pkt`, `ns/row` time per packet or
// row where one iteration handles many; bytes_per_second is the wire bytes handled.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alloc_counter.h"
#include "protocol/column.h"
#include "protocol/constants.h"
#include "protocol/frame.h"
#include "protocol/golden_mariadb.h"
#include "protocol/handshake.h"
#include "protocol/packet_scanner.h"
#include "protocol/packets.h"
#include "protocol/response.h"
#include "protocol/rows.h"

namespace ghostgate::protocol {
namespace {

using ByteVec = std::vector<std::uint8_t>;

// What libmariadb 3.3 and MariaDB 10.11 agree on (the mariadb CLI's session, golden capture).
constexpr Capabilities kClientCaps = 0x00bfa28c | cap::deprecate_eof;
constexpr Capabilities kClientCapsEof = 0x00bfa28c & ~cap::deprecate_eof;

void report_allocs(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs/op"] = benchmark::Counter(
      static_cast<double>(bench::allocations() - before), benchmark::Counter::kAvgIterations);
}

// Time per unit when one iteration handles `per_iteration` units (printed with SI prefix, in s).
void report_per_unit(benchmark::State& state, const char* name, double per_iteration) {
  state.counters[name] = benchmark::Counter(
      per_iteration, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

template <std::size_t N>
Bytes payload_of(const std::uint8_t (&frames)[N]) {
  return Bytes(frames + frame_header_size, N - frame_header_size);
}

// ---- Frames --------------------------------------------------------------------------------

// A run of frames with `payload` bytes each, as many as fit in ~64 KiB (one socket read).
ByteVec frame_run(std::size_t payload, std::size_t* count) {
  ByteVec out;
  ByteVec body(payload, 'x');
  std::uint8_t seq = 0;
  *count = 0;
  do {
    append_packet(out, seq, body);
    ++*count;
  } while (out.size() + payload + frame_header_size <= 64 * 1024);
  return out;
}

// next_packet() over a buffer of single-frame packets: what read_packet() does for every command
// a client sends and every packet ghostgate reads whole.
void BM_Frame_NextPacket(benchmark::State& state) {
  std::size_t count = 0;
  const ByteVec run = frame_run(static_cast<std::size_t>(state.range(0)), &count);
  ByteVec scratch;
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    Bytes in(run);
    while (!in.empty()) {
      Packet p;
      if (next_packet(in, 1u << 30, scratch, p)) {
        state.SkipWithError("next_packet failed");
        break;
      }
      benchmark::DoNotOptimize(p.payload.data());
      in = in.subspan(p.wire_size);
    }
  }
  report_allocs(state, before);
  report_per_unit(state, "ns/pkt", static_cast<double>(count));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(run.size()));
}
BENCHMARK(BM_Frame_NextPacket)->Arg(16)->Arg(128)->Arg(1024)->Arg(16384);

// A 40 MiB packet (three frames: 16 MiB - 1, 16 MiB - 1, rest) joined into the scratch buffer.
// The scratch buffer is reused, as the session does, so only the first join allocates.
void BM_Frame_NextPacket_Joined40MiB(benchmark::State& state) {
  ByteVec body(40u << 20, 'y');
  ByteVec wire;
  std::uint8_t seq = 0;
  append_packet(wire, seq, body);
  ByteVec scratch;
  Packet warm;
  (void)next_packet(wire, 1u << 30, scratch, warm);
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    Packet p;
    if (next_packet(wire, 1u << 30, scratch, p)) {
      state.SkipWithError("next_packet failed");
      break;
    }
    benchmark::DoNotOptimize(p.payload.data());
  }
  report_allocs(state, before);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_Frame_NextPacket_Joined40MiB)->Unit(benchmark::kMillisecond);

// append_packet() into a reused output buffer: how ghostgate frames packets it relays with new
// sequence ids (logins) or synthesizes.
void BM_Frame_AppendPacket(benchmark::State& state) {
  const ByteVec body(static_cast<std::size_t>(state.range(0)), 'z');
  ByteVec out;
  std::uint8_t seq = 0;
  append_packet(out, seq, body);
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    out.clear();
    append_packet(out, seq, body);
    benchmark::DoNotOptimize(out.data());
  }
  report_allocs(state, before);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}
BENCHMARK(BM_Frame_AppendPacket)->Arg(32)->Arg(1024)->Arg(64 * 1024)->Arg(20 << 20);

// PacketBuilder: a COM_QUERY written in place (header reserved, filled by finish()).
void BM_Frame_PacketBuilder_ComQuery(benchmark::State& state) {
  constexpr std::string_view sql =
      "UPDATE sbtest1 SET c='83868641912-28773972837-60736120486-75162659906-27563526494-"
      "20381887404-41576422241-93426793964-56405065102-33518432330' WHERE id=4963";
  ByteVec out;
  out.reserve(1024);
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    out.clear();
    std::uint8_t seq = 0;
    PacketBuilder b(out);
    b.writer().write_u8(static_cast<std::uint8_t>(Command::query));
    b.writer().write_string(sql);
    b.finish(seq);
    benchmark::DoNotOptimize(out.data());
  }
  report_allocs(state, before);
}
BENCHMARK(BM_Frame_PacketBuilder_ComQuery);

// The OK ghostgate writes for a suppressed statement.
void BM_Frame_AppendOk(benchmark::State& state) {
  ByteVec out;
  out.reserve(64);
  OkPacket ok;
  ok.status = status::autocommit;
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    out.clear();
    std::uint8_t seq = 1;
    append_ok(out, seq, kClientCaps, ok);
    benchmark::DoNotOptimize(out.data());
  }
  report_allocs(state, before);
}
BENCHMARK(BM_Frame_AppendOk);

// renumber_frames() over 64 KiB of 128-byte frames (forwarding inside a renumbered exchange).
void BM_Frame_Renumber(benchmark::State& state) {
  std::size_t count = 0;
  ByteVec run = frame_run(128, &count);
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    std::uint8_t seq = 3;
    renumber_frames(run.data(), run.size(), seq);
    benchmark::DoNotOptimize(run.data());
  }
  report_allocs(state, before);
  report_per_unit(state, "ns/pkt", static_cast<double>(count));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(run.size()));
}
BENCHMARK(BM_Frame_Renumber);

// ---- Handshake (once per client login, and per new backend connection) ----------------------

// The server greeting MariaDB 10.11 sent to the mariadb CLI. A fresh struct each time, as the
// proxy parses it: the strings longer than the small-string buffer allocate.
void BM_Handshake_ParseV10(benchmark::State& state) {
  const Bytes payload = payload_of(golden::cli_0_server_frames);
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    HandshakeV10 h;
    if (parse_handshake_v10(payload, h)) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(h.capabilities);
  }
  report_allocs(state, before);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(payload.size()));
}
BENCHMARK(BM_Handshake_ParseV10);

// The greeting ghostgate sends its client (the backend's, with capabilities masked).
void BM_Handshake_SerializeV10(benchmark::State& state) {
  HandshakeV10 h;
  if (parse_handshake_v10(payload_of(golden::cli_0_server_frames), h)) {
    state.SkipWithError("parse failed");
    return;
  }
  h.capabilities = (h.capabilities & cap::proxy_supported) | cap::long_password;
  h.mariadb_capabilities = 0;
  ByteVec out;
  out.reserve(256);
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    out.clear();
    std::uint8_t seq = 0;
    PacketBuilder b(out);
    serialize_handshake_v10(h, b.writer());
    b.finish(seq);
    benchmark::DoNotOptimize(out.data());
  }
  report_allocs(state, before);
}
BENCHMARK(BM_Handshake_SerializeV10);

// The mariadb CLI's HandshakeResponse41 (user, auth response, database, plugin, attributes).
void BM_Handshake_ParseResponse41(benchmark::State& state) {
  const Bytes payload = payload_of(golden::cli_1_client_frames);
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    HandshakeResponse41 r;
    if (parse_handshake_response41(payload, r)) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(r.capabilities);
  }
  report_allocs(state, before);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(payload.size()));
}
BENCHMARK(BM_Handshake_ParseResponse41);

// The relayed login: the client's response re-encoded with the shared capabilities.
void BM_Handshake_SerializeResponse41(benchmark::State& state) {
  HandshakeResponse41 r;
  if (parse_handshake_response41(payload_of(golden::cli_1_client_frames), r)) {
    state.SkipWithError("parse failed");
    return;
  }
  r.mariadb_capabilities = 0;
  ByteVec out;
  out.reserve(512);
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    out.clear();
    std::uint8_t seq = 1;
    PacketBuilder b(out);
    serialize_handshake_response41(r, b.writer());
    b.finish(seq);
    benchmark::DoNotOptimize(out.data());
  }
  report_allocs(state, before);
}
BENCHMARK(BM_Handshake_SerializeResponse41);

// ---- Responses: ResponseTracker over what the server sends ----------------------------------

// A text result set: column count, definitions, rows, terminator (EOF or OK-as-EOF).
ByteVec text_result(Capabilities caps, const std::vector<ColumnDefinition41>& columns,
                    const std::vector<std::optional<std::string_view>>& row, std::size_t rows) {
  ByteVec out;
  std::uint8_t seq = 1;
  {
    PacketBuilder b(out);
    b.writer().write_lenenc_int(columns.size());
    b.finish(seq);
  }
  for (const ColumnDefinition41& c : columns) {
    PacketBuilder b(out);
    serialize_column_definition(c, b.writer());
    b.finish(seq);
  }
  if (!(caps & cap::deprecate_eof)) {
    PacketBuilder b(out);
    serialize_eof(EofPacket{0, status::autocommit}, b.writer());
    b.finish(seq);
  }
  for (std::size_t i = 0; i < rows; ++i) {
    PacketBuilder b(out);
    serialize_text_row(row, b.writer());
    b.finish(seq);
  }
  PacketBuilder b(out);
  if (caps & cap::deprecate_eof) {
    OkPacket ok;
    ok.header = eof_header;
    ok.status = status::autocommit;
    serialize_ok(ok, caps, b.writer());
  } else {
    serialize_eof(EofPacket{0, status::autocommit}, b.writer());
  }
  b.finish(seq);
  return out;
}

ColumnDefinition41 column(std::string_view name, ColumnType type, std::uint32_t length) {
  ColumnDefinition41 c;
  c.schema = "sbtest";
  c.table = "sbtest1";
  c.org_table = "sbtest1";
  c.name = name;
  c.org_name = name;
  c.charset = 45;
  c.column_length = length;
  c.type = type;
  return c;
}

// sysbench oltp_point_select: SELECT c FROM sbtest1 WHERE id=N -> one CHAR(120) column, one row.
ByteVec point_select_result(Capabilities caps) {
  static const std::string c(119, '7');
  return text_result(caps, {column("c", ColumnType::string, 480)}, {std::string_view(c)}, 1);
}

// A 10-column row of about 150 bytes, like the `orders` table of the replicator traces.
ByteVec ten_column_result(std::size_t rows) {
  std::vector<ColumnDefinition41> cols = {
      column("id", ColumnType::longlong, 20),       column("customer_id", ColumnType::long_, 11),
      column("status", ColumnType::var_string, 64), column("amount", ColumnType::newdecimal, 12),
      column("currency", ColumnType::string, 12),   column("note", ColumnType::var_string, 1024),
      column("created", ColumnType::datetime, 19),  column("updated", ColumnType::datetime, 19),
      column("region", ColumnType::var_string, 64), column("flags", ColumnType::tiny, 3)};
  std::vector<std::optional<std::string_view>> row = {"188",
                                                      "12337",
                                                      "shipped",
                                                      "26.86",
                                                      "USD",
                                                      "row-188 gift wrap, leave at the door",
                                                      "2026-01-01 03:08:00",
                                                      "2026-01-02 04:00:00",
                                                      "us-east-1",
                                                      std::nullopt};
  return text_result(kClientCaps, cols, row, rows);
}

// Feeds `wire` to a tracker in steps of `chunk` new bytes, keeping what it did not consume, as
// relay_response() does with the backend's read buffer. Returns false on a protocol error.
bool track(ResponseTracker& t, Command cmd, Capabilities caps, Bytes wire, std::size_t chunk) {
  t.start(cmd, caps);
  std::size_t pos = 0;
  std::size_t avail = 0;
  while (!t.done()) {
    const std::size_t had = avail;
    avail = std::min(wire.size(), avail + chunk);
    std::error_code ec;
    const std::size_t n = t.consume(wire.subspan(pos, avail - pos), ec);
    pos += n;
    if (ec || (n == 0 && avail == had)) {
      return false;  // a protocol error, or stuck with no more input
    }
  }
  return pos == wire.size();
}

void tracker_bench(benchmark::State& state, Command cmd, Capabilities caps, Bytes wire,
                   std::size_t chunk, double rows) {
  ResponseTracker t;
  if (!track(t, cmd, caps, wire, chunk)) {
    state.SkipWithError("tracker did not end where the response ends");
    return;
  }
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    const bool ok = track(t, cmd, caps, wire, chunk);
    benchmark::DoNotOptimize(ok);
  }
  report_allocs(state, before);
  if (rows > 0) {
    report_per_unit(state, "ns/row", rows);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}

constexpr std::size_t kWhole = SIZE_MAX / 2;

// MariaDB's OK for an INSERT (golden, CLIENT_DEPRECATE_EOF on).
void BM_Response_InsertOk(benchmark::State& state) {
  tracker_bench(state, Command::query, kClientCaps, Bytes(golden::deof_insert_response), kWhole, 0);
}
BENCHMARK(BM_Response_InsertOk);

// MariaDB's 3-column, 2-row answer to SELECT id, name, note FROM gg.t (golden, both EOF modes).
void BM_Response_SelectSmall_Golden(benchmark::State& state) {
  tracker_bench(state, Command::query, kClientCaps, Bytes(golden::deof_select_t_response), kWhole,
                2);
}
BENCHMARK(BM_Response_SelectSmall_Golden);
void BM_Response_SelectSmall_Golden_Eof(benchmark::State& state) {
  tracker_bench(state, Command::query, kClientCapsEof, Bytes(golden::eof_select_t_response), kWhole,
                2);
}
BENCHMARK(BM_Response_SelectSmall_Golden_Eof);

// COM_STMT_PREPARE and COM_STMT_EXECUTE answers (golden): sysbench --db-ps-mode=auto.
void BM_Response_PrepareOk_Golden(benchmark::State& state) {
  tracker_bench(state, Command::stmt_prepare, kClientCaps,
                Bytes(golden::deof_prepare_select_response), kWhole, 0);
}
BENCHMARK(BM_Response_PrepareOk_Golden);
void BM_Response_ExecuteRows_Golden(benchmark::State& state) {
  tracker_bench(state, Command::stmt_execute, kClientCaps,
                Bytes(golden::deof_execute_select_response), kWhole, 0);
}
BENCHMARK(BM_Response_ExecuteRows_Golden);

// sysbench's point select, the workload of the 1-thread latency target.
void BM_Response_PointSelect(benchmark::State& state) {
  static const ByteVec wire = point_select_result(kClientCaps);
  tracker_bench(state, Command::query, kClientCaps, wire, kWhole, 1);
}
BENCHMARK(BM_Response_PointSelect);

// 10-column rows; Arg = rows. The whole stream in one buffer, then in 16 KiB socket reads.
void BM_Response_TenColumnRows(benchmark::State& state) {
  const ByteVec wire = ten_column_result(static_cast<std::size_t>(state.range(0)));
  tracker_bench(state, Command::query, kClientCaps, wire, kWhole,
                static_cast<double>(state.range(0)));
}
BENCHMARK(BM_Response_TenColumnRows)->Arg(100)->Arg(10000);
void BM_Response_TenColumnRows_16KiBReads(benchmark::State& state) {
  const ByteVec wire = ten_column_result(static_cast<std::size_t>(state.range(0)));
  tracker_bench(state, Command::query, kClientCaps, wire, 16 * 1024,
                static_cast<double>(state.range(0)));
}
BENCHMARK(BM_Response_TenColumnRows_16KiBReads)->Arg(10000);

// Bulk: 64 rows of 1 MiB (REPEAT('x', 1048576) FROM seq_1_to_64), fed in 64 KiB reads. Rows are
// passed through without being read: the cost is per read, not per byte.
void BM_Response_Bulk1MiBRows(benchmark::State& state) {
  static const std::string big(1u << 20, 'x');
  static const ByteVec wire = text_result(
      kClientCaps, {column("r", ColumnType::long_blob, 0xffffffff)}, {std::string_view(big)}, 64);
  tracker_bench(state, Command::query, kClientCaps, wire, 64 * 1024, 64);
}
BENCHMARK(BM_Response_Bulk1MiBRows)->Unit(benchmark::kMicrosecond);

// ---- LOCAL INFILE upload --------------------------------------------------------------------

// The client's file as libmariadb sends it (64 KiB packets) plus the closing empty packet,
// 16 MiB in all, fed in 64 KiB reads.
void BM_Upload_LocalInfile16MiB(benchmark::State& state) {
  ByteVec wire;
  const ByteVec chunk(64 * 1024 - frame_header_size, 'l');
  std::uint8_t seq = 2;
  while (wire.size() < (16u << 20)) {
    append_packet(wire, seq, chunk);
  }
  append_packet(wire, seq, Bytes());
  const std::uint64_t before = bench::allocations();
  for (auto _ : state) {
    UploadScanner s;
    std::size_t pos = 0;
    std::size_t avail = 0;
    while (!s.done() && pos < wire.size()) {
      avail = std::min(wire.size(), avail + 64 * 1024);
      pos += s.consume(Bytes(wire).subspan(pos, avail - pos));
    }
    benchmark::DoNotOptimize(s.bytes());
  }
  report_allocs(state, before);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_Upload_LocalInfile16MiB)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ghostgate::protocol
