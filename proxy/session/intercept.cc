// Statements: the online-DDL service decides (proxy/online_ddl/), the session carries its
// decision out; everything the service does not claim is forwarded. Also the session's side of
// ClientPort, and the statements prepared locally.

#include "protocol/packets.h"
#include "protocol/statement.h"
#include "proxy/observe/metrics.h"
#include "proxy/online_ddl/service.h"
#include "proxy/session/session.h"

namespace ghostgate::proxy {

using namespace protocol;

void Session::local_ok(std::vector<std::uint8_t>& out, std::uint8_t& seq, bool more_results,
                       std::uint64_t affected) const {
  OkPacket ok;
  ok.affected_rows = affected;
  ok.status = static_cast<std::uint16_t>(status_ & ~status::more_results_exists);
  if (more_results) {
    ok.status |= status::more_results_exists;
  }
  append_ok(out, seq, client_caps_, ok);
}

void Session::local_error(std::vector<std::uint8_t>& out, std::uint8_t& seq, std::uint16_t code,
                          std::string_view state, std::string_view message) const {
  // Before the client has said what it supports (a refusal before or instead of the greeting),
  // answer in the 4.1 format every client ghostgate accepts reads.
  const Capabilities caps = client_caps_ != 0 ? client_caps_ : cap::protocol_41;
  // 2000-2999 are client-side codes (2003 can't connect, 2013 lost connection): a client builds
  // them itself, and libmariadb rejects one arriving from a server as a malformed packet, which
  // would hide the reason. Sent by ghostgate they become 1105 with SQLSTATE 08S01
  // (communication link failure, the class connectors treat as a lost connection).
  if (code >= 2000 && code < 3000) {
    protocol::append_err(out, seq, caps, er::unknown_error, "08S01", message);
    return;
  }
  protocol::append_err(out, seq, caps, code, state, message);
}

awaitable<Session::Outcome> Session::handle_query(Packet packet) {
  const std::string_view sql = as_string_view(packet.payload.subspan(1));
  std::optional<std::string> use_db;
  OnlineDdlService* service = runtime_.online_ddl_now();
  if (service != nullptr &&
      !service->quick_forward(sql, db_, (client_caps_ & cap::multi_statements) != 0)) {
    std::string text(sql);  // named: gcc 12 mishandles temporaries inside co_await
    OnlineDdlService::Decision decision = co_await service->on_query(*this, std::move(text));
    if (!decision.forward) {
      client_in_.consume(packet.wire_size);
      observe_added_latency();
      out_.insert(out_.end(), decision.packets.begin(), decision.packets.end());
      const bool written = co_await write_client(out_);
      co_return written && !decision.close ? Outcome::ok : Outcome::close;
    }
    use_db = std::move(decision.use_db);
  } else if (service == nullptr) {
    use_db = OnlineDdlService::forwarded_without_engine(sql);
  }
  Outcome o = co_await forward(packet, Command::query);
  if (o == Outcome::ok && use_db && !tracker_.ended_with_error()) {
    db_ = std::move(*use_db);
  }
  co_return o;
}

awaitable<Session::Outcome> Session::handle_prepare(Packet packet) {
  if (OnlineDdlService* service = runtime_.online_ddl_now(); service != nullptr) {
    const std::string_view sql = as_string_view(packet.payload.subspan(1));
    std::optional<std::uint16_t> params;
    if (!service->quick_forward(sql, db_, false)) {
      std::string text(sql);
      params = co_await service->on_prepare(*this, std::move(text));
    }
    if (params) {
      // Suppressed: prepare it here so its executions never reach the backend.
      const std::uint32_t stmt_id = next_local_statement_++;
      if (next_local_statement_ == 0xffffffffu) {
        next_local_statement_ = local_statement_base;  // 0xffffffff means "last" to MariaDB
      }
      local_statements_[stmt_id] = LocalStatement{*params, std::string(sql)};
      client_in_.consume(packet.wire_size);
      std::uint8_t seq = 1;
      append_stmt_prepare_response(out_, seq, client_caps_, stmt_id, *params, status_);
      co_return co_await write_client(out_) ? Outcome::ok : Outcome::close;
    }
  }
  std::optional<std::string> use_db =
      OnlineDdlService::use_target(as_string_view(packet.payload.subspan(1)));
  const Outcome o = co_await forward(packet, Command::stmt_prepare);
  if (use_db && o == Outcome::ok && !tracker_.ended_with_error()) {
    prepared_use_[tracker_.statement_id()] = std::move(*use_db);
  }
  co_return o;
}

awaitable<Session::Outcome> Session::handle_local_statement(Packet packet, Command cmd,
                                                            std::uint32_t stmt_id) {
  client_in_.consume(packet.wire_size);
  std::uint8_t seq = 1;
  switch (cmd) {
    case Command::stmt_close:
      local_statements_.erase(stmt_id);
      co_return Outcome::ok;  // no response
    case Command::stmt_send_long_data:
      co_return Outcome::ok;  // no response
    case Command::stmt_reset:
      append_local_ok(seq, false);
      break;
    case Command::stmt_execute: {
      // Suppressed DML executes as "0 rows affected". A suppressed DDL still commits an open
      // transaction, as the real statement would have.
      if (runtime_.online_ddl != nullptr) {
        std::string text = local_statements_[stmt_id].sql;
        OnlineDdlService::Decision decision =
            co_await runtime_.online_ddl->on_query(*this, std::move(text));
        if (!decision.forward) {
          out_.insert(out_.end(), decision.packets.begin(), decision.packets.end());
          co_return co_await write_client(out_) ? Outcome::ok : Outcome::close;
        }
        // The state changed since PREPARE and the statement must now reach the backend, which
        // never saw it prepared: run its text there.
        std::string sql_text = local_statements_[stmt_id].sql;
        QueryResult r = co_await backend_query(std::move(sql_text));
        if (r.error) {
          append_error(seq, r.error->code, r.error->sql_state, r.error->message);
        } else {
          local_ok(out_, seq, false, r.affected_rows);
        }
        co_return co_await write_client(out_) ? Outcome::ok : Outcome::close;
      }
      append_local_ok(seq, false);
      break;
    }
    case Command::stmt_fetch:
      append_error(seq, er::unknown_stmt_handler, "HY000",
                   "ghostgate: statement has no open cursor");
      break;
    default:
      break;
  }
  co_return co_await write_client(out_) ? Outcome::ok : Outcome::close;
}

awaitable<Session::Collected> Session::collect_query(std::string sql, bool more_follow,
                                                     std::uint8_t& seq,
                                                     std::vector<std::uint8_t>& out) {
  Collected result;
  if (!backend_) {
    local_error(out, seq, cr_server_lost, "HY000", "ghostgate: no backend connection");
    result.error = true;
    co_return result;
  }
  std::vector<std::uint8_t> request;
  {
    std::uint8_t rseq = 0;
    PacketBuilder b(request);
    b.writer().write_u8(static_cast<std::uint8_t>(Command::query));
    b.writer().write_string(sql);
    b.finish(rseq);
  }
  IoResult w = co_await backend_->stream.write_all(asio::buffer(request));
  if (w.ec) {
    backend_->broken = true;
    local_error(out, seq, cr_server_lost, "HY000", "ghostgate: lost connection to backend");
    result.error = true;
    co_return result;
  }
  tracker_.start(Command::query, backend_->caps);
  const std::size_t start = out.size();
  while (!tracker_.done()) {
    if (!backend_->in.empty()) {
      std::error_code pec;
      const std::size_t n = tracker_.consume(backend_->in.data(), pec);
      out.insert(out.end(), backend_->in.data().begin(), backend_->in.data().begin() + n);
      backend_->in.consume(n);
      if (pec || tracker_.awaiting_local_infile()) {
        // LOAD DATA LOCAL inside a batch that ghostgate had to split is not supported.
        backend_->broken = true;
        out.resize(start);
        local_error(out, seq, er::not_supported_yet, "42000",
                    "ghostgate: LOAD DATA LOCAL cannot share a batch with suppressed statements");
        result.error = true;
        co_return result;
      }
      if (tracker_.done()) {
        break;
      }
    }
    error_code ec = co_await backend_->in.fill(backend_->stream);
    if (ec) {
      backend_->broken = true;
      out.resize(start);
      local_error(out, seq, cr_server_lost, "HY000", "ghostgate: lost connection to backend");
      result.error = true;
      co_return result;
    }
  }
  if (tracker_.status_known()) {
    status_ = tracker_.status();
  }
  result.ok = true;
  result.error = tracker_.ended_with_error();
  // Renumber into the client's exchange and flag the last terminator when more results follow.
  std::size_t last = start;
  for (std::size_t pos = start; pos + frame_header_size <= out.size();) {
    last = pos;
    pos += frame_header_size + parse_frame_header(out.data() + pos).length;
  }
  renumber_frames(out.data() + start, out.size() - start, seq);
  if (more_follow && !result.error && last + frame_header_size < out.size()) {
    const FrameHeader h = parse_frame_header(out.data() + last);
    set_more_results(out.data() + last + frame_header_size, h.length, backend_->caps);
  }
  co_return result;
}

awaitable<QueryResult> Session::backend_query(std::string sql) {
  if (!backend_) {
    QueryResult r;
    r.error = BackendError{cr_server_lost, "HY000", "ghostgate: no backend connection", true};
    co_return r;
  }
  QueryResult r = co_await run_query(*backend_, std::move(sql), config_->timeouts.backend_read);
  if (r.error && r.error->io) {
    backend_->broken = true;
  } else {
    status_ = r.status;
  }
  co_return r;
}

}  // namespace ghostgate::proxy
