#pragma once
// Numbers of the MySQL client/server protocol.
// https://dev.mysql.com/doc/dev/mysql-server/latest/group__group__cs__capabilities__flags.html
// https://dev.mysql.com/doc/dev/mysql-server/latest/mysql__com_8h.html

#include <cstddef>
#include <cstdint>

namespace ghostgate::protocol {

using Capabilities = std::uint32_t;

namespace cap {
inline constexpr Capabilities long_password = 1u << 0;  // CLIENT_MYSQL in MariaDB
inline constexpr Capabilities found_rows = 1u << 1;
inline constexpr Capabilities long_flag = 1u << 2;
inline constexpr Capabilities connect_with_db = 1u << 3;
inline constexpr Capabilities no_schema = 1u << 4;
inline constexpr Capabilities compress = 1u << 5;
inline constexpr Capabilities odbc = 1u << 6;
inline constexpr Capabilities local_files = 1u << 7;
inline constexpr Capabilities ignore_space = 1u << 8;
inline constexpr Capabilities protocol_41 = 1u << 9;
inline constexpr Capabilities interactive = 1u << 10;
inline constexpr Capabilities ssl = 1u << 11;
inline constexpr Capabilities ignore_sigpipe = 1u << 12;
inline constexpr Capabilities transactions = 1u << 13;
inline constexpr Capabilities reserved = 1u << 14;
inline constexpr Capabilities secure_connection = 1u << 15;
inline constexpr Capabilities multi_statements = 1u << 16;
inline constexpr Capabilities multi_results = 1u << 17;
inline constexpr Capabilities ps_multi_results = 1u << 18;
inline constexpr Capabilities plugin_auth = 1u << 19;
inline constexpr Capabilities connect_attrs = 1u << 20;
inline constexpr Capabilities plugin_auth_lenenc_data = 1u << 21;
inline constexpr Capabilities can_handle_expired_passwords = 1u << 22;
inline constexpr Capabilities session_track = 1u << 23;
inline constexpr Capabilities deprecate_eof = 1u << 24;
inline constexpr Capabilities optional_resultset_metadata = 1u << 25;
inline constexpr Capabilities zstd_compression = 1u << 26;
inline constexpr Capabilities query_attributes = 1u << 27;
inline constexpr Capabilities multi_factor_authentication = 1u << 28;
inline constexpr Capabilities capability_extension = 1u << 29;
inline constexpr Capabilities ssl_verify_server_cert = 1u << 30;
inline constexpr Capabilities remember_options = 1u << 31;

// What ghostgate can carry. Compression and optional metadata change the framing of every
// packet, query attributes change COM_QUERY's layout: never advertised.
inline constexpr Capabilities proxy_supported =
    long_password | found_rows | long_flag | connect_with_db | no_schema | odbc | local_files |
    ignore_space | protocol_41 | interactive | ssl | ignore_sigpipe | transactions | reserved |
    secure_connection | multi_statements | multi_results | ps_multi_results | plugin_auth |
    connect_attrs | plugin_auth_lenenc_data | can_handle_expired_passwords | session_track |
    deprecate_eof;

// The flags that change how the server frames responses or interprets commands on an
// established connection. A pooled backend connection is reused only by a client whose flags
// agree on these (they cannot be renegotiated by COM_CHANGE_USER).
inline constexpr Capabilities session_shaping =
    found_rows | no_schema | odbc | local_files | ignore_space | interactive | transactions |
    multi_statements | multi_results | ps_multi_results | session_track | deprecate_eof;
}  // namespace cap

namespace status {
inline constexpr std::uint16_t in_trans = 0x0001;
inline constexpr std::uint16_t autocommit = 0x0002;
inline constexpr std::uint16_t more_results_exists = 0x0008;
inline constexpr std::uint16_t no_good_index_used = 0x0010;
inline constexpr std::uint16_t no_index_used = 0x0020;
inline constexpr std::uint16_t cursor_exists = 0x0040;
inline constexpr std::uint16_t last_row_sent = 0x0080;
inline constexpr std::uint16_t db_dropped = 0x0100;
inline constexpr std::uint16_t no_backslash_escapes = 0x0200;
inline constexpr std::uint16_t metadata_changed = 0x0400;
inline constexpr std::uint16_t query_was_slow = 0x0800;
inline constexpr std::uint16_t ps_out_params = 0x1000;
inline constexpr std::uint16_t in_trans_readonly = 0x2000;
inline constexpr std::uint16_t session_state_changed = 0x4000;
}  // namespace status

enum class Command : std::uint8_t {
  sleep = 0x00,
  quit = 0x01,
  init_db = 0x02,
  query = 0x03,
  field_list = 0x04,
  create_db = 0x05,
  drop_db = 0x06,
  refresh = 0x07,
  shutdown = 0x08,
  statistics = 0x09,
  process_info = 0x0a,
  connect = 0x0b,
  process_kill = 0x0c,
  debug = 0x0d,
  ping = 0x0e,
  time = 0x0f,
  delayed_insert = 0x10,
  change_user = 0x11,
  binlog_dump = 0x12,
  table_dump = 0x13,
  connect_out = 0x14,
  register_slave = 0x15,
  stmt_prepare = 0x16,
  stmt_execute = 0x17,
  stmt_send_long_data = 0x18,
  stmt_close = 0x19,
  stmt_reset = 0x1a,
  set_option = 0x1b,
  stmt_fetch = 0x1c,
  daemon = 0x1d,
  binlog_dump_gtid = 0x1e,
  reset_connection = 0x1f,
  clone = 0x20,
  subscribe_group_replication_stream = 0x21,
  stmt_bulk_execute = 0xfa,  // MariaDB
};

// Payload length that means "another frame follows with more of this packet".
inline constexpr std::size_t max_frame_payload = 0xffffff;
inline constexpr std::size_t frame_header_size = 4;

inline constexpr std::uint8_t ok_header = 0x00;
inline constexpr std::uint8_t eof_header = 0xfe;
inline constexpr std::uint8_t err_header = 0xff;
inline constexpr std::uint8_t local_infile_header = 0xfb;
inline constexpr std::uint8_t auth_more_data_header = 0x01;
inline constexpr std::uint8_t auth_switch_header = 0xfe;

inline constexpr std::size_t scramble_size = 20;

// Server error codes ghostgate produces itself.
namespace er {
inline constexpr std::uint16_t con_count = 1040;      // ER_CON_COUNT_ERROR
inline constexpr std::uint16_t handshake = 1043;      // ER_HANDSHAKE_ERROR
inline constexpr std::uint16_t access_denied = 1045;  // ER_ACCESS_DENIED_ERROR
inline constexpr std::uint16_t unknown_com = 1047;    // ER_UNKNOWN_COM_ERROR
inline constexpr std::uint16_t net_packet_too_large = 1153;
inline constexpr std::uint16_t unknown_stmt_handler = 1243;
inline constexpr std::uint16_t not_supported_yet = 1235;
inline constexpr std::uint16_t server_shutdown = 1053;
inline constexpr std::uint16_t unknown_error = 1105;
inline constexpr std::uint16_t wrong_args = 1210;
inline constexpr std::uint16_t cant_connect = 2003;  // client-side code, used for backend down
inline constexpr std::uint16_t option_prevents_statement = 1290;
}  // namespace er

}  // namespace ghostgate::protocol
