#pragma once
// Well-formed UTF-8, for text that must be written where only UTF-8 may go (JSON, YAML): the
// shard groups' stored state and the config loader's values and dump.

#include <cstddef>
#include <optional>
#include <string_view>

namespace ghostgate::rules {

// Where `s` stops being well-formed UTF-8 (RFC 3629: an overlong form, a surrogate or a code
// point past U+10FFFF is not), or nullopt.
[[nodiscard]] std::optional<std::size_t> invalid_utf8_at(std::string_view s);

}  // namespace ghostgate::rules
