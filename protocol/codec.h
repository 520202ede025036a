#pragma once
// Primitive encodings of the MySQL protocol: fixed-width little-endian integers, length-encoded
// integers and strings, NUL-terminated strings.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_data_types.html

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "protocol/error.h"

namespace ghostgate::protocol {

using Bytes = std::span<const std::uint8_t>;

inline std::string_view as_string_view(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// A cursor over one complete payload. The first error sticks: every later read returns zero
// values and the error stays in error(). Reading past the end is an error, never UB.
class Reader {
 public:
  explicit Reader(Bytes data) : data_(data) {}

  [[nodiscard]] std::error_code error() const { return error_; }
  bool ok() const { return !error_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }
  bool at_end() const { return pos_ >= data_.size(); }

  std::uint64_t read_int(std::size_t width);  // 1..8 bytes, little endian
  std::uint8_t read_u8() { return static_cast<std::uint8_t>(read_int(1)); }
  std::uint16_t read_u16() { return static_cast<std::uint16_t>(read_int(2)); }
  std::uint32_t read_u24() { return static_cast<std::uint32_t>(read_int(3)); }
  std::uint32_t read_u32() { return static_cast<std::uint32_t>(read_int(4)); }
  std::uint64_t read_u64() { return read_int(8); }
  std::uint8_t peek_u8() const { return pos_ < data_.size() ? data_[pos_] : 0; }

  std::uint64_t read_lenenc_int();
  Bytes read_bytes(std::size_t n);
  std::string_view read_string(std::size_t n) { return as_string_view(read_bytes(n)); }
  std::string_view read_lenenc_string();
  std::string_view read_null_string();  // up to the NUL, which is consumed
  std::string_view read_rest();         // everything left (string<EOF>)
  void skip(std::size_t n) { (void)read_bytes(n); }
  void fail(Errc e) {
    if (!error_) {
      error_ = e;
    }
    pos_ = data_.size();
  }

 private:
  Bytes data_;
  std::size_t pos_ = 0;
  std::error_code error_;
};

// Appends encodings to a byte vector owned by the caller (reused across packets).
class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}

  void write_int(std::uint64_t v, std::size_t width);
  void write_u8(std::uint8_t v) { out_.push_back(v); }
  void write_u16(std::uint16_t v) { write_int(v, 2); }
  void write_u24(std::uint32_t v) { write_int(v, 3); }
  void write_u32(std::uint32_t v) { write_int(v, 4); }
  void write_u64(std::uint64_t v) { write_int(v, 8); }
  void write_lenenc_int(std::uint64_t v);
  void write_bytes(Bytes b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void write_string(std::string_view s) { write_bytes(as_bytes(s)); }
  void write_lenenc_string(std::string_view s) {
    write_lenenc_int(s.size());
    write_string(s);
  }
  void write_null_string(std::string_view s) {
    write_string(s);
    out_.push_back(0);
  }
  void write_zeros(std::size_t n) { out_.insert(out_.end(), n, 0); }
  std::size_t size() const { return out_.size(); }
  std::vector<std::uint8_t>& buffer() { return out_; }

 private:
  std::vector<std::uint8_t>& out_;
};

std::size_t lenenc_int_size(std::uint64_t v);

}  // namespace ghostgate::protocol
