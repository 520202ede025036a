#pragma once
// Shared by the shard-merge fuzz targets (shard_ddl, shard_group): how the fuzzer's bytes become
// DDL lists and a target's columns and indexes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/shard_ddl.h"

namespace ghostgate::fuzz {

// `text` cut at NUL bytes (seeds separate statements, states and commands with them).
inline std::vector<std::string> split_nul(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t nul = text.find('\0', start);
    out.emplace_back(text.substr(start, nul == std::string_view::npos ? nul : nul - start));
    if (nul == std::string_view::npos) {
      return out;
    }
    start = nul + 1;
  }
}

// Column types a target may have (information_schema COLUMN_TYPE spellings of MariaDB, MySQL
// and TiDB).
constexpr std::array<std::string_view, 8> kColumnTypes = {
    "int(11)", "bigint(20) unsigned", "varchar(20)",  "varchar(255)", "decimal(8,2)",
    "text",    "datetime(3)",         "enum('a','b')"};

// A target's columns and indexes: those of the shard traces' `shop`.`orders` (id, a, b, c, the
// primary key and ix_a), plus, chosen by the bits of `bits`, the subjects the specs name (as a
// column of one of kColumnTypes, or an index). So the fuzzer reaches "already exists" and "does
// not exist" without guessing names.
inline rules::TargetSchema make_schema(const rules::NormalizedSet& set, std::uint64_t bits) {
  rules::TargetSchema schema;
  schema.columns["id"] = rules::ColumnInfo{"bigint(20)", false};
  schema.columns["a"] = rules::ColumnInfo{"int(11)", true};
  schema.columns["b"] = rules::ColumnInfo{"varchar(32)", true};
  schema.indexes.insert("primary");
  if ((bits & 1) != 0) {
    schema.indexes.insert("ix_a");
  }
  bits >>= 1;
  for (const rules::AlterSpec& s : set.specs) {
    if (s.subject.empty()) {
      continue;
    }
    if ((bits & 1) != 0) {
      schema.columns[s.subject] = rules::ColumnInfo{
          std::string(kColumnTypes[(bits >> 2) % kColumnTypes.size()]), (bits & 2) == 0};
    }
    if ((bits & 32) != 0) {
      schema.indexes.insert(s.subject);
    }
    bits >>= 6;
  }
  return schema;
}

}  // namespace ghostgate::fuzz
