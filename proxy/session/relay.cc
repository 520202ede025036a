// The command loop: each command is dispatched, and unless ghostgate answers it itself
// (intercept.cc), forwarded with the original bytes and its response relayed byte for byte.

#include "protocol/auth.h"
#include "protocol/packet_scanner.h"
#include "protocol/packets.h"
#include "proxy/observe/log.h"
#include "proxy/observe/metrics.h"
#include "proxy/session/session.h"

namespace ghostgate::proxy {

using namespace protocol;

namespace {

// How far the backend read buffer may grow while a large response streams through.
constexpr std::size_t max_relay_buffer = 256 * 1024;

}  // namespace

awaitable<void> run_session(tcp::socket socket, Runtime& runtime, Worker& worker) {
  Session session(std::move(socket), runtime, worker);
  try {
    co_await session.run();
  } catch (const std::exception& e) {
    // An escaped exception ends only this session.
    metrics().session_exceptions.inc();
    log_error(session.id(), "session ended by exception: {}", e.what());
  }
}

Session::Session(tcp::socket socket, Runtime& runtime, Worker& worker)
    : runtime_(runtime),
      worker_(worker),
      config_(runtime.config_snapshot()),
      id_(runtime.next_session_id.fetch_add(1, std::memory_order_relaxed)),
      client_(std::move(socket)),
      client_in_(InBuffer::First::inline_bytes) {
  client_in_.count_into(&metrics().client_bytes_in);
}

awaitable<void> Session::run() {
  error_code ignored;
  client_.socket().set_option(tcp::no_delay(true), ignored);
  bool logged_in = false;
  {
    // The whole login, whatever it waits for (a pool slot, the backend, the client): the client
    // socket is closed at the deadline, and the waits on the backend end by it too.
    const auto timeout = config_->timeouts.handshake;
    if (timeout.count() > 0) {
      login_deadline_ = std::chrono::steady_clock::now() + timeout;
    }
    Watchdog watchdog(client_, timeout);
    logged_in = co_await handshake();
    protocol::wipe(login_stage1_);  // whatever way the login ended
    if (watchdog.fired()) {
      log_info(id_, "handshake timed out");
      logged_in = false;
    }
    login_deadline_.reset();
  }
  if (logged_in) {
    co_await command_loop();
  }
  release_backend();
  client_.close();
}

void Session::release_backend() {
  if (!backend_) {
    return;
  }
  // A client that left inside a transaction leaves its row locks behind until the connection
  // is reset: close it instead (the backend rolls back) so nothing waits for the next client.
  const bool in_transaction = (status_ & status::in_trans) != 0;
  if (tracker_.done() && !backend_->broken && !in_transaction) {
    worker_.pool.give_back(std::move(backend_));
  } else {
    backend_->broken = true;
    worker_.pool.discard(std::move(backend_));
  }
}

void Session::release_buffers() {
  // While the client thinks, the session holds no read block, and no write or join buffer
  // bigger than a typical command needs: an idle client costs its sockets and little else.
  client_in_.release();
  if (backend_) {
    backend_->in.release();
    if (backend_->scratch.capacity() > 0 && backend_->scratch.empty()) {
      std::vector<std::uint8_t>().swap(backend_->scratch);
    }
  }
  if (out_.capacity() > InBuffer::inline_size) {
    std::vector<std::uint8_t>().swap(out_);
  }
  if (client_scratch_.capacity() > 0) {
    std::vector<std::uint8_t>().swap(client_scratch_);
  }
}

awaitable<bool> Session::write_client(std::vector<std::uint8_t>& bytes) {
  IoResult r = co_await client_.write_all(asio::buffer(bytes));
  bytes.clear();
  metrics().client_bytes_out.inc(r.bytes);
  co_return !r.ec;
}

awaitable<bool> Session::write_client(Bytes bytes) {
  IoResult r = co_await client_.write_all(asio::buffer(bytes.data(), bytes.size()));
  metrics().client_bytes_out.inc(r.bytes);
  co_return !r.ec;
}

void Session::observe_added_latency() {
  if (statement_started_) {
    metrics().added_latency_seconds.observe(std::chrono::steady_clock::now() - *statement_started_);
    statement_started_.reset();
  }
}

awaitable<Session::Outcome> Session::command_loop() {
  for (;;) {
    if (runtime_.draining.load(std::memory_order_relaxed)) {
      co_return Outcome::close;
    }
    release_buffers();
    Packet packet;
    error_code ec = co_await read_packet(client_, client_in_, config_->max_packet_size,
                                         client_scratch_, packet);
    if (ec) {
      if (ec.category() != asio::error::get_misc_category() &&
          ec != asio::error::connection_reset && ec != asio::error::operation_aborted) {
        // Oversized or malformed: say why, then close.
        metrics().protocol_errors.inc();
        std::uint8_t seq = 1;
        if (ec.message() == "packet too large") {
          append_error(seq, er::net_packet_too_large, "08S01",
                       "ghostgate: packet bigger than max-packet-size");
          co_await write_client(out_);
        }
      }
      co_return Outcome::close;
    }
    if (packet.payload.empty()) {
      co_return Outcome::close;
    }
    // In flight from here, unless a drain began meanwhile: the drain stores `draining` and then
    // waits for the count to reach 0, we count and then look at `draining` (both seq_cst), so
    // either it waits for this statement or the statement is not started and never answered.
    runtime_.statements_in_flight.fetch_add(1);
    if (runtime_.draining.load()) {
      runtime_.statements_in_flight.fetch_sub(1);
      co_return Outcome::close;
    }
    statement_started_ = std::chrono::steady_clock::now();
    Outcome outcome = co_await dispatch(packet);
    statement_started_.reset();
    runtime_.statements_in_flight.fetch_sub(1);
    if (outcome == Outcome::close) {
      co_return outcome;
    }
  }
}

awaitable<Session::Outcome> Session::dispatch(Packet packet) {
  const auto cmd = static_cast<Command>(packet.payload[0]);
  switch (cmd) {
    case Command::quit:
      client_in_.consume(packet.wire_size);
      co_return Outcome::close;
    case Command::query:
      co_return co_await handle_query(packet);
    case Command::stmt_prepare:
      co_return co_await handle_prepare(packet);
    case Command::stmt_execute:
    case Command::stmt_close:
    case Command::stmt_reset:
    case Command::stmt_fetch:
    case Command::stmt_send_long_data: {
      std::uint32_t stmt_id = 0;
      if (packet.payload.size() >= 5) {
        stmt_id = Reader(packet.payload.subspan(1)).read_u32();
        if (stmt_id >= local_statement_base && local_statements_.count(stmt_id) != 0) {
          co_return co_await handle_local_statement(packet, cmd, stmt_id);
        }
      }
      if (cmd == Command::stmt_execute) {
        metrics().statements.inc(proxy::Decision::forwarded, StatementKind::execute);
      }
      const Outcome o = co_await forward(packet, cmd);
      if (!prepared_use_.empty() && o == Outcome::ok) {
        if (const auto it = prepared_use_.find(stmt_id); it != prepared_use_.end()) {
          if (cmd == Command::stmt_close) {
            prepared_use_.erase(it);
          } else if (cmd == Command::stmt_execute && !tracker_.ended_with_error()) {
            db_ = it->second;
          }
        }
      }
      co_return o;
    }
    case Command::change_user:
      co_return co_await handle_change_user(packet);
    case Command::binlog_dump:
    case Command::binlog_dump_gtid:
    case Command::register_slave:
    case Command::table_dump:
    case Command::connect_out:
    case Command::clone:
    case Command::subscribe_group_replication_stream: {
      client_in_.consume(packet.wire_size);
      std::uint8_t seq = 1;
      append_error(seq, er::not_supported_yet, "42000",
                   "ghostgate: replication commands are not supported through the proxy");
      co_return co_await write_client(out_) ? Outcome::ok : Outcome::close;
    }
    case Command::init_db: {
      std::string db(as_string_view(packet.payload.subspan(1)));
      Outcome o = co_await forward(packet, cmd);
      if (o == Outcome::ok && !tracker_.ended_with_error()) {
        db_ = std::move(db);
      }
      co_return o;
    }
    case Command::reset_connection: {
      Outcome o = co_await forward(packet, cmd);
      if (o == Outcome::ok && !tracker_.ended_with_error()) {
        local_statements_.clear();
        prepared_use_.clear();
      }
      co_return o;
    }
    case Command::set_option: {
      Reader r(packet.payload.subspan(1));
      const std::uint16_t option = r.read_u16();
      Outcome o = co_await forward(packet, cmd);
      if (o == Outcome::ok && !tracker_.ended_with_error() && r.ok() && backend_) {
        // The connection's multi-statement mode no longer matches its pool key.
        const Capabilities flag = cap::multi_statements;
        client_caps_ = option == 0 ? (client_caps_ | flag) : (client_caps_ & ~flag);
        backend_->caps = option == 0 ? (backend_->caps | flag) : (backend_->caps & ~flag);
        backend_->not_reusable = true;
      }
      co_return o;
    }
    default:
      co_return co_await forward(packet, cmd);
  }
}

awaitable<Session::Outcome> Session::forward(Packet packet, Command cmd) {
  if (!backend_) {
    client_in_.consume(packet.wire_size);
    std::uint8_t seq = 1;
    append_error(seq, cr_server_lost, "HY000", "ghostgate: lost connection to backend");
    co_await write_client(out_);
    co_return Outcome::close;
  }
  observe_added_latency();
  // The original bytes, unchanged (continuation frames included).
  IoResult w =
      co_await backend_->stream.write_all(asio::buffer(client_in_.data().data(), packet.wire_size));
  client_in_.consume(packet.wire_size);
  if (w.ec) {
    backend_->broken = true;
    co_return co_await backend_lost(false, w.ec);
  }
  if (!command_has_response(cmd)) {
    co_return Outcome::ok;
  }
  co_return co_await relay_response(cmd, 0);
}

awaitable<Session::Outcome> Session::relay_response(Command cmd, std::size_t already_sent) {
  tracker_.start(cmd, backend_->caps);
  std::size_t sent = already_sent;
  const auto read_timeout = config_->timeouts.backend_read;
  for (;;) {
    if (!backend_->in.empty()) {
      std::error_code pec;
      const std::size_t n = tracker_.consume(backend_->in.data(), pec);
      if (n > 0) {
        if (!co_await write_client(backend_->in.data().first(n))) {
          // The client vanished mid-result: the backend is mid-response, never pool it.
          backend_->broken = true;
          co_return Outcome::close;
        }
        backend_->in.consume(n);
        sent += n;
      }
      if (pec) {
        metrics().protocol_errors.inc();
        log_warn(id_, "protocol error in backend response: {}", pec.message());
        backend_->broken = true;
        co_return co_await backend_lost(sent > 0, to_error_code(pec));
      }
      if (tracker_.done()) {
        break;
      }
      if (tracker_.awaiting_local_infile()) {
        if (co_await relay_upload() == Outcome::close) {
          co_return Outcome::close;
        }
        tracker_.resume_after_local_infile();
        continue;
      }
    }
    error_code ec;
    // A response larger than the buffer moves in bigger reads (fewer read/write turns per byte).
    backend_->in.grow_if_filled(max_relay_buffer);
    if (read_timeout.count() > 0) {
      // Closes the backend stream when it fires: the connection is lost either way.
      Watchdog watchdog(backend_->stream, read_timeout);
      ec = co_await backend_->in.fill(backend_->stream);
      if (watchdog.fired()) {
        ec = asio::error::timed_out;
      }
    } else {
      ec = co_await backend_->in.fill(backend_->stream);
    }
    if (ec) {
      backend_->broken = true;
      co_return co_await backend_lost(sent > 0, ec);
    }
  }
  if (tracker_.status_known()) {
    status_ = tracker_.status();
  }
  backend_->in.release();  // no block held between commands, nor a buffer grown for a large one
  co_return Outcome::ok;
}

awaitable<Session::Outcome> Session::relay_upload() {
  UploadScanner scanner;
  for (;;) {
    if (!client_in_.empty()) {
      const std::size_t n = scanner.consume(client_in_.data());
      if (n > 0) {
        IoResult w = co_await backend_->stream.write_all(asio::buffer(client_in_.data().data(), n));
        client_in_.consume(n);
        if (w.ec) {
          backend_->broken = true;
          co_return co_await backend_lost(true, w.ec);
        }
      }
      if (scanner.done()) {
        co_return Outcome::ok;
      }
    }
    if (error_code ec = co_await client_in_.fill(client_)) {
      // The client vanished mid-upload: the backend waits for data it will never get.
      backend_->broken = true;
      co_return Outcome::close;
    }
  }
}

awaitable<Session::Outcome> Session::backend_lost(bool response_started, const error_code& ec) {
  log_warn(id_, "backend connection lost: {}", ec.message());
  if (!response_started) {
    std::uint8_t seq = tracker_.next_sequence();
    out_.clear();
    append_error(seq, cr_server_lost, "HY000",
                 "ghostgate: lost connection to backend (" + ec.message() + ")");
    co_await write_client(out_);
  }
  co_return Outcome::close;
}

}  // namespace ghostgate::proxy
