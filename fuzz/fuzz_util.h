#pragma once
// Shared by the fuzz targets: a check that crashes (so libFuzzer records the input) and a cursor
// that splits the fuzzer's bytes into parameters and a payload.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace ghostgate::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  // Fixed-width little-endian prefix fields; missing bytes read as zero.
  std::uint64_t take(std::size_t width) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width && pos_ < size_; ++i) {
      v |= static_cast<std::uint64_t>(data_[pos_++]) << (8 * i);
    }
    return v;
  }
  // The rest, copied so ASan sees the exact bounds of the payload.
  std::vector<std::uint8_t> rest() const {
    return std::vector<std::uint8_t>(data_ + pos_, data_ + size_);
  }
  // Up to `n` of the next bytes as text (fewer at the end of the input).
  std::string take_string(std::size_t n) {
    n = std::min(n, size_ - pos_);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  [[nodiscard]] std::size_t remaining() const { return size_ - pos_; }
  [[nodiscard]] bool empty() const { return pos_ >= size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace ghostgate::fuzz
