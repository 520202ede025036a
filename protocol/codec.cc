#include "protocol/codec.h"

namespace ghostgate::protocol {

std::uint64_t Reader::read_int(std::size_t width) {
  if (error_ || width > 8 || remaining() < width) {
    fail(Errc::truncated);
    return 0;
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) {
    v |= static_cast<std::uint64_t>(data_[pos_ + i]) << (8 * i);
  }
  pos_ += width;
  return v;
}

std::uint64_t Reader::read_lenenc_int() {
  const std::uint8_t first = read_u8();
  if (error_) {
    return 0;
  }
  if (first < 0xfb) {
    return first;
  }
  switch (first) {
    case 0xfc:
      return read_int(2);
    case 0xfd:
      return read_int(3);
    case 0xfe:
      return read_int(8);
    default:
      // 0xfb is NULL in a row and 0xff an error header: neither is an integer.
      fail(Errc::malformed);
      return 0;
  }
}

Bytes Reader::read_bytes(std::size_t n) {
  if (error_ || remaining() < n) {
    fail(Errc::truncated);
    return {};
  }
  Bytes out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

std::string_view Reader::read_lenenc_string() {
  const std::uint64_t n = read_lenenc_int();
  if (error_) {
    return {};
  }
  if (n > remaining()) {
    fail(Errc::truncated);
    return {};
  }
  return read_string(static_cast<std::size_t>(n));
}

std::string_view Reader::read_null_string() {
  if (error_) {
    return {};
  }
  if (remaining() == 0) {  // memchr must not see the null pointer of an empty span
    fail(Errc::truncated);
    return {};
  }
  const auto* begin = data_.data() + pos_;
  const void* nul = std::memchr(begin, 0, remaining());
  if (nul == nullptr) {
    fail(Errc::truncated);
    return {};
  }
  const std::size_t n = static_cast<const std::uint8_t*>(nul) - begin;
  std::string_view out(reinterpret_cast<const char*>(begin), n);
  pos_ += n + 1;
  return out;
}

std::string_view Reader::read_rest() {
  if (error_) {
    return {};
  }
  return read_string(remaining());
}

void Writer::write_int(std::uint64_t v, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) {
    out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
}

void Writer::write_lenenc_int(std::uint64_t v) {
  if (v < 0xfb) {
    write_u8(static_cast<std::uint8_t>(v));
  } else if (v <= 0xffff) {
    write_u8(0xfc);
    write_int(v, 2);
  } else if (v <= 0xffffff) {
    write_u8(0xfd);
    write_int(v, 3);
  } else {
    write_u8(0xfe);
    write_int(v, 8);
  }
}

std::size_t lenenc_int_size(std::uint64_t v) {
  if (v < 0xfb) {
    return 1;
  }
  if (v <= 0xffff) {
    return 3;
  }
  if (v <= 0xffffff) {
    return 4;
  }
  return 9;
}

}  // namespace ghostgate::protocol
