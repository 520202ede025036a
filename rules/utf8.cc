#include "rules/utf8.h"

namespace ghostgate::rules {

std::optional<std::size_t> invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;   // continuation bytes
    unsigned lo = 0x80;  // the second byte's range: excludes overlong forms and surrogates
    unsigned hi = 0xbf;  // and code points past U+10FFFF (RFC 3629, table 3-7 of Unicode)
    if (b < 0x80) {
      ++i;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      lo = b == 0xe0 ? 0xa0 : 0x80;
      hi = b == 0xed ? 0x9f : 0xbf;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      lo = b == 0xf0 ? 0x90 : 0x80;
      hi = b == 0xf4 ? 0x8f : 0xbf;
    } else {
      return i;
    }
    if (s.size() - i <= n) {
      return i;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xbf)) {
        return i;
      }
    }
    i += n + 1;
  }
  return std::nullopt;
}

}  // namespace ghostgate::rules
