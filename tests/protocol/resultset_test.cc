// Golden-byte tests for column definitions, text and binary rows, prepared-statement messages
// and LOCAL INFILE. Every vector is MariaDB 10.11.19's (responses) or a request built by
// tests/protocol/capture/cap.py that MariaDB accepted and answered as expected; the MySQL
// documentation's examples are marked "doc".

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "protocol/column.h"
#include "protocol/golden_mariadb.h"
#include "protocol/local_infile.h"
#include "protocol/rows.h"
#include "protocol/statement.h"
#include "protocol/test_util.h"

namespace ghostgate::protocol {
namespace {

using testing::ByteVec;
using testing::hex;
using testing::packets_of;
using testing::payload_of;

template <std::size_t N>
std::vector<ByteVec> golden_packets(const std::uint8_t (&frames)[N]) {
  return packets_of(Bytes(frames, N));
}

// ---- Column definitions ----------------------------------------------------------------------

struct ColumnCase {
  std::string name;
  ByteVec payload;
  ColumnDefinition41 expected;
};
void PrintTo(const ColumnCase& c, std::ostream* os) { *os << c.name; }

ColumnDefinition41 col(std::string_view schema, std::string_view table, std::string_view name,
                       std::uint16_t charset, std::uint32_t length, ColumnType type,
                       std::uint16_t flags, std::uint8_t decimals) {
  ColumnDefinition41 c;
  c.schema = schema;
  c.table = table;
  c.org_table = table;
  c.name = name;
  c.org_name = name;
  c.charset = charset;
  c.column_length = length;
  c.type = type;
  c.flags = flags;
  c.decimals = decimals;
  return c;
}

// `SELECT * FROM gg.ty`: one column of each type (see capture/cap.py for the table).
std::vector<ColumnDefinition41> ty_columns() {
  using T = ColumnType;
  namespace f = column_flag;
  return {
      col("gg", "ty", "ti", 63, 4, T::tiny, 0, 0),
      col("gg", "ty", "si", 63, 6, T::short_, 0, 0),
      col("gg", "ty", "mi", 63, 9, T::int24, 0, 0),
      col("gg", "ty", "i", 63, 11, T::long_, 0, 0),
      col("gg", "ty", "bi", 63, 20, T::longlong, 0, 0),
      col("gg", "ty", "ubi", 63, 20, T::longlong, f::unsigned_, 0),
      col("gg", "ty", "f", 63, 12, T::float_, 0, 31),
      col("gg", "ty", "d", 63, 22, T::double_, 0, 31),
      col("gg", "ty", "dec1", 63, 12, T::newdecimal, 0, 3),
      col("gg", "ty", "dt", 63, 10, T::date, f::binary, 0),
      col("gg", "ty", "tm", 63, 17, T::time, f::binary, 6),
      col("gg", "ty", "dtm", 63, 26, T::datetime, f::binary, 6),
      col("gg", "ty", "ts", 63, 19, T::timestamp, f::binary | f::unsigned_, 0),
      col("gg", "ty", "yr", 63, 4, T::year, f::unsigned_ | f::zerofill, 0),
      col("gg", "ty", "vc", 45, 40, T::var_string, 0, 0),
      col("gg", "ty", "bl", 63, 65535, T::blob, f::blob | f::binary, 0),
      col("gg", "ty", "bit1", 63, 8, T::bit, f::unsigned_, 0),
      col("gg", "ty", "e", 45, 4, T::string, f::enum_, 0),
      col("gg", "ty", "nl", 63, 11, T::long_, 0, 0),
  };
}

std::vector<ColumnCase> column_cases() {
  using namespace golden;
  std::vector<ColumnCase> v;
  const auto ty = ty_columns();
  const auto packets = golden_packets(eof_select_types_response);
  for (std::size_t i = 0; i < ty.size(); ++i) {
    v.push_back({"mariadb_ty_" + std::string(ty[i].name), packets[1 + i], ty[i]});
  }
  // COM_FIELD_LIST adds the default value: "0" for id, NULL (0xfb) for the others.
  const auto fl = golden_packets(eof_field_list_response);
  auto id = col("gg", "t", "id", 63, 11, ColumnType::long_, 0x5003, 0);
  id.has_default_value = true;
  id.default_value = "0";
  v.push_back({"mariadb_field_list_id", fl[0], id});
  auto name = col("gg", "t", "name", 45, 80, ColumnType::var_string, 0, 0);
  name.has_default_value = true;
  v.push_back({"mariadb_field_list_name_null_default", fl[1], name});
  // MariaDB's parameter definition after PREPARE_OK: type NULL, binary.
  ColumnDefinition41 param;
  param.name = "?";
  param.charset = 63;
  param.type = ColumnType::null;
  param.flags = column_flag::binary;
  v.push_back({"mariadb_param", golden_packets(eof_prepare_insert_response)[1], param});
  // doc: page_protocol_com_stmt_prepare, the parameter of SELECT CONCAT(?, ?) AS col1 and col1.
  v.push_back(
      {"doc_param",
       payload_of(hex("17 00 00 02 03 64 65 66 00 00 00 01 3f 00 0c 3f 00 00 00 00 00 fd 80 "
                      "00 00 00 00")),
       generic_param_definition()});
  ColumnDefinition41 col1;
  col1.name = "col1";
  col1.charset = 63;
  col1.type = ColumnType::var_string;
  col1.flags = column_flag::binary;
  col1.decimals = 0x1f;
  v.push_back(
      {"doc_col1",
       payload_of(hex("1a 00 00 05 03 64 65 66 00 00 00 04 63 6f 6c 31 00 0c 3f 00 00 00 00 "
                      "00 fd 80 00 1f 00 00")),
       col1});
  return v;
}

class ColumnGolden : public ::testing::TestWithParam<ColumnCase> {};

TEST_P(ColumnGolden, Decodes) {
  ColumnDefinition41 c;
  ASSERT_FALSE(parse_column_definition(GetParam().payload, c));
  EXPECT_EQ(c, GetParam().expected);
}

TEST_P(ColumnGolden, Encodes) {
  ByteVec out;
  Writer w(out);
  serialize_column_definition(GetParam().expected, w);
  EXPECT_EQ(testing::to_hex(out), testing::to_hex(GetParam().payload));
}

TEST_P(ColumnGolden, EveryTruncationFails) {
  const ByteVec& p = GetParam().payload;
  // Without a default value the packet ends with the fixed fields: no cut can decode. With
  // one, the cut right before it is a valid result-set column definition.
  for (std::size_t n = 0; n < p.size(); ++n) {
    ColumnDefinition41 c;
    const auto ec = parse_column_definition(Bytes(p.data(), n), c);
    if (!ec) {
      EXPECT_TRUE(GetParam().expected.has_default_value) << n;
      EXPECT_FALSE(c.has_default_value) << n;
      continue;
    }
    EXPECT_TRUE(testing::is_truncation_error(ec)) << n << " " << ec.message();
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, ColumnGolden, ::testing::ValuesIn(column_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Column, SerializeParamDefinitionIsTheDocumentedGenericParam) {
  ByteVec out;
  Writer w(out);
  serialize_param_definition(w);
  EXPECT_EQ(out, hex("03 64 65 66 00 00 00 01 3f 00 0c 3f 00 00 00 00 00 fd 80 00 00 00 00"));
}

TEST(Column, FailureTable) {
  struct {
    const char* name;
    const char* hex;
    Errc expected;
  } cases[] = {
      {"empty", "", Errc::truncated},
      {"catalog_past_end", "05 64 65 66", Errc::truncated},
      {"bad_lenenc", "ff", Errc::malformed},
      {"fixed_len_not_12", "03 64 65 66 00 00 00 01 3f 00 0b 3f 00 00 00 00 00 fd 80 00 00 00",
       Errc::malformed},
      {"fixed_short", "03 64 65 66 00 00 00 01 3f 00 0c 3f 00 00 00 00 00 fd 80 00 00",
       Errc::truncated},
      {"trailing_after_default",
       "03 64 65 66 00 00 00 01 3f 00 0c 3f 00 00 00 00 00 fd 80 00 00 00 00 01 30 00",
       Errc::malformed},
  };
  for (const auto& c : cases) {
    ColumnDefinition41 col;
    EXPECT_EQ(parse_column_definition(hex(c.hex), col), make_error_code(c.expected)) << c.name;
  }
}

// ---- Text rows -------------------------------------------------------------------------------

struct TextRowCase {
  std::string name;
  ByteVec payload;
  TextRow expected;
};
void PrintTo(const TextRowCase& c, std::ostream* os) { *os << c.name; }

std::vector<TextRowCase> text_row_cases() {
  using namespace golden;
  using namespace std::string_view_literals;
  return {
      {"mariadb_ty",
       golden_packets(eof_select_types_response)[21],
       {"-5", "300", "-70000", "123456", "-9000000000", "18446744073709551615", "1.5", "-2.25",
        "1234.567", "2024-02-29", "-838:59:58.123456", "2024-02-29 13:14:15.000016",
        "2024-01-02 03:04:05", "2024", "h\xc3\xa9llo", "\x00\xff\x10"sv, "\xa5", "y",
        std::nullopt}},
      {"mariadb_null_last", golden_packets(eof_select_t_response)[5], {"1", "alpha", std::nullopt}},
      {"mariadb_plain", golden_packets(eof_select_t_response)[6], {"2", "beta", "b"}},
      // doc: page_protocol_basic_compression_packet, SELECT repeat("a", 50).
      {"doc_repeat", ByteVec(1, 0x32), {}},
  };
}

class TextRowGolden : public ::testing::TestWithParam<TextRowCase> {
 protected:
  ByteVec payload() const {
    if (GetParam().name != "doc_repeat") {
      return GetParam().payload;
    }
    ByteVec p(1, 0x32);
    p.insert(p.end(), 50, 'a');
    return p;
  }
  TextRow expected() const {
    if (GetParam().name != "doc_repeat") {
      return GetParam().expected;
    }
    static const std::string a50(50, 'a');
    return {std::string_view(a50)};
  }
};

TEST_P(TextRowGolden, Decodes) {
  TextRow row;
  const ByteVec p = payload();
  ASSERT_FALSE(parse_text_row(p, expected().size(), row));
  EXPECT_EQ(row, expected());
}

TEST_P(TextRowGolden, Encodes) {
  ByteVec out;
  Writer w(out);
  const TextRow e = expected();
  serialize_text_row(e, w);
  EXPECT_EQ(out, payload());
}

TEST_P(TextRowGolden, EveryTruncationFails) {
  const ByteVec p = payload();
  for (std::size_t n = 0; n < p.size(); ++n) {
    TextRow row;
    const auto ec = parse_text_row(Bytes(p.data(), n), expected().size(), row);
    EXPECT_TRUE(testing::is_truncation_error(ec)) << n << " " << ec.message();
  }
  TextRow row;
  EXPECT_EQ(parse_text_row(p, expected().size() - 1, row), make_error_code(Errc::malformed));
}

INSTANTIATE_TEST_SUITE_P(Golden, TextRowGolden, ::testing::ValuesIn(text_row_cases()),
                         [](const auto& info) { return info.param.name; });

// ---- Binary rows -----------------------------------------------------------------------------

std::vector<ValueType> ty_types() {
  std::vector<ValueType> t;
  for (const auto& c : ty_columns()) {
    t.push_back(value_type(c));
  }
  return t;
}

std::vector<Value> ty_binary_values() {
  using namespace std::string_view_literals;
  return {
      std::int64_t{-5},
      std::int64_t{300},
      std::int64_t{-70000},
      std::int64_t{123456},
      std::int64_t{-9000000000},
      std::numeric_limits<std::uint64_t>::max(),
      1.5f,
      -2.25,
      "1234.567"sv,
      DateTime{2024, 2, 29},
      Time{true, 34, 22, 59, 58, 123456},
      DateTime{2024, 2, 29, 13, 14, 15, 16},
      DateTime{2024, 1, 2, 3, 4, 5},
      std::uint64_t{2024},
      "h\xc3\xa9llo"sv,
      "\x00\xff\x10"sv,
      "\xa5"sv,
      "y"sv,
      std::monostate{},
  };
}

struct BinaryRowCase {
  std::string name;
  ByteVec payload;
  std::vector<ValueType> types;
  std::vector<Value> expected;
};
void PrintTo(const BinaryRowCase& c, std::ostream* os) { *os << c.name; }

std::vector<BinaryRowCase> binary_row_cases() {
  using namespace golden;
  using namespace std::string_view_literals;
  std::vector<BinaryRowCase> v;
  v.push_back({"mariadb_execute_ty", golden_packets(eof_execute_select_response)[21], ty_types(),
               ty_binary_values()});
  v.push_back(
      {"mariadb_fetch_ty", golden_packets(eof_fetch_response)[0], ty_types(), ty_binary_values()});
  v.push_back({"mariadb_fetch_ty_deof", golden_packets(deof_fetch_response)[0], ty_types(),
               ty_binary_values()});
  // doc: page_protocol_binary_resultset, one VAR_STRING "foobar".
  v.push_back({"doc_foobar",
               payload_of(hex("09 00 00 04 00 00 06 66 6f 6f 62 61 72")),
               {{ColumnType::var_string, false}},
               {"foobar"sv}});
  return v;
}

class BinaryRowGolden : public ::testing::TestWithParam<BinaryRowCase> {};

TEST_P(BinaryRowGolden, Decodes) {
  std::vector<Value> row;
  ASSERT_FALSE(parse_binary_row(GetParam().payload, GetParam().types, row));
  ASSERT_EQ(row.size(), GetParam().expected.size());
  for (std::size_t i = 0; i < row.size(); ++i) {
    EXPECT_TRUE(same_value(row[i], GetParam().expected[i])) << "column " << i;
  }
}

TEST_P(BinaryRowGolden, Encodes) {
  ByteVec out;
  Writer w(out);
  serialize_binary_row(GetParam().expected, GetParam().types, w);
  EXPECT_EQ(testing::to_hex(out), testing::to_hex(GetParam().payload));
}

TEST_P(BinaryRowGolden, EveryTruncationFails) {
  const ByteVec& p = GetParam().payload;
  for (std::size_t n = 0; n < p.size(); ++n) {
    std::vector<Value> row;
    const auto ec = parse_binary_row(Bytes(p.data(), n), GetParam().types, row);
    EXPECT_TRUE(testing::is_truncation_error(ec)) << n << " " << ec.message();
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, BinaryRowGolden, ::testing::ValuesIn(binary_row_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(BinaryRow, TypesFromTheCapturedColumnDefinitions) {
  // The types the decoder is given come from the column definitions of the same response.
  const auto packets = golden_packets(golden::eof_execute_select_response);
  std::vector<ValueType> types;
  for (std::size_t i = 1; i <= 19; ++i) {
    ColumnDefinition41 c;
    ASSERT_FALSE(parse_column_definition(packets[i], c));
    types.push_back(value_type(c));
  }
  EXPECT_EQ(types, ty_types());
}

TEST(BinaryRow, FailureTable) {
  const std::vector<ValueType> one_int = {{ColumnType::long_, false}};
  const std::vector<ValueType> one_dt = {{ColumnType::datetime, false}};
  const std::vector<ValueType> one_time = {{ColumnType::time, false}};
  const std::vector<ValueType> unknown = {{static_cast<ColumnType>(0x14), false}};
  struct {
    const char* name;
    const char* hex;
    const std::vector<ValueType>* types;
    Errc expected;
  } cases[] = {
      {"empty", "", &one_int, Errc::truncated},
      {"wrong_header", "01 00 01 00 00 00", &one_int, Errc::malformed},
      {"no_bitmap", "00", &one_int, Errc::truncated},
      {"int_short", "00 00 01 00 00", &one_int, Errc::truncated},
      {"trailing", "00 00 01 00 00 00 00", &one_int, Errc::malformed},
      {"datetime_bad_length", "00 00 05 e8 07 01 02 03", &one_dt, Errc::malformed},
      {"datetime_past_end", "00 00 07 e8 07 01 02", &one_dt, Errc::truncated},
      {"time_bad_length", "00 00 09 00 00 00 00 00 00 00 00 00", &one_time, Errc::malformed},
      {"time_bad_sign", "00 00 08 02 00 00 00 00 00 00 00", &one_time, Errc::malformed},
      {"unknown_type", "00 00 00", &unknown, Errc::unsupported},
  };
  for (const auto& c : cases) {
    std::vector<Value> row;
    EXPECT_EQ(parse_binary_row(hex(c.hex), *c.types, row), make_error_code(c.expected)) << c.name;
  }
}

TEST(BinaryValue, ShortestTemporalEncodings) {
  struct {
    Value v;
    ColumnType type;
    const char* hex;
  } cases[] = {
      {DateTime{}, ColumnType::datetime, "00"},
      {DateTime{2024, 1, 2}, ColumnType::date, "04 e8 07 01 02"},
      {DateTime{2024, 1, 2, 0, 0, 1}, ColumnType::timestamp, "07 e8 07 01 02 00 00 01"},
      {DateTime{2024, 1, 2, 0, 0, 0, 1}, ColumnType::datetime,
       "0b e8 07 01 02 00 00 00 01 00 00 00"},
      {Time{}, ColumnType::time, "00"},
      {Time{true, 0, 0, 0, 0, 0}, ColumnType::time, "08 01 00 00 00 00 00 00 00"},
      {Time{false, 1, 2, 3, 4, 5}, ColumnType::time, "0c 00 01 00 00 00 02 03 04 05 00 00 00"},
  };
  for (const auto& c : cases) {
    ByteVec out;
    Writer w(out);
    write_binary_value(c.v, {c.type, false}, w);
    EXPECT_EQ(out, hex(c.hex));
    Reader r(out);
    EXPECT_TRUE(same_value(read_binary_value(r, {c.type, false}), c.v));
    EXPECT_TRUE(r.ok() && r.at_end());
  }
}

TEST(BinaryValue, NanComparesByBits) {
  const Value a = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(same_value(a, a));
  EXPECT_FALSE(same_value(Value(0.0), Value(-0.0)));
}

// ---- COM_STMT_PREPARE_OK -------------------------------------------------------------------

struct PrepareOkCase {
  std::string name;
  ByteVec payload;
  StmtPrepareOk expected;
};
void PrintTo(const PrepareOkCase& c, std::ostream* os) { *os << c.name; }

std::vector<PrepareOkCase> prepare_ok_cases() {
  using namespace golden;
  return {
      {"mariadb_select_2_params_19_columns", golden_packets(eof_prepare_select_response)[0],
       StmtPrepareOk{1, 19, 2, 0}},
      {"mariadb_insert_3_params", golden_packets(eof_prepare_insert_response)[0],
       StmtPrepareOk{2, 0, 3, 0}},
      {"mariadb_no_params", golden_packets(eof_prepare_noparam_response)[0],
       StmtPrepareOk{3, 1, 0, 0}},
      {"mariadb_19_params_deof", golden_packets(deof_prepare_echo_response)[0],
       StmtPrepareOk{5, 19, 19, 0}},
      // doc: page_protocol_com_stmt_prepare, SELECT CONCAT(?, ?) AS col1.
      {"doc_concat", payload_of(hex("0c 00 00 01 00 01 00 00 00 01 00 02 00 00 00 00")),
       StmtPrepareOk{1, 1, 2, 0}},
  };
}

class PrepareOkGolden : public ::testing::TestWithParam<PrepareOkCase> {};

TEST_P(PrepareOkGolden, Decodes) {
  StmtPrepareOk ok;
  ASSERT_FALSE(parse_stmt_prepare_ok(GetParam().payload, ok));
  EXPECT_EQ(ok, GetParam().expected);
}

TEST_P(PrepareOkGolden, Encodes) {
  ByteVec out;
  Writer w(out);
  serialize_stmt_prepare_ok(GetParam().expected, w);
  EXPECT_EQ(out, GetParam().payload);
}

TEST_P(PrepareOkGolden, EveryTruncationFails) {
  const ByteVec& p = GetParam().payload;
  for (std::size_t n = 0; n < p.size(); ++n) {
    StmtPrepareOk ok;
    EXPECT_TRUE(testing::is_truncation_error(parse_stmt_prepare_ok(Bytes(p.data(), n), ok))) << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, PrepareOkGolden, ::testing::ValuesIn(prepare_ok_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(PrepareResponse, SynthesizedWithoutDeprecateEof) {
  // What ghostgate answers for a 2-parameter statement it handles itself: the documentation's
  // PREPARE_OK with no columns, the documented generic parameter definitions, then EOF.
  ByteVec out;
  std::uint8_t seq = 1;
  append_stmt_prepare_response(out, seq, cap::protocol_41, 1, 2, status::autocommit);
  EXPECT_EQ(testing::to_hex(out),
            testing::to_hex(hex(
                "0c 00 00 01 00 01 00 00 00 00 00 02 00 00 00 00 "
                "17 00 00 02 03 64 65 66 00 00 00 01 3f 00 0c 3f 00 00 00 00 00 fd 80 00 00 00 00 "
                "17 00 00 03 03 64 65 66 00 00 00 01 3f 00 0c 3f 00 00 00 00 00 fd 80 00 00 00 00 "
                "05 00 00 04 fe 00 00 02 00")));
  EXPECT_EQ(seq, 5);
}

TEST(PrepareResponse, SynthesizedWithDeprecateEofAndNoParams) {
  ByteVec out;
  std::uint8_t seq = 1;
  append_stmt_prepare_response(out, seq, cap::protocol_41 | cap::deprecate_eof, 7, 1, 2);
  EXPECT_EQ(out.size(), 16u + 27u);
  EXPECT_EQ(seq, 3);
  out.clear();
  seq = 1;
  append_stmt_prepare_response(out, seq, cap::protocol_41, 7, 0, 2);
  EXPECT_EQ(out, hex("0c 00 00 01 00 07 00 00 00 00 00 00 00 00 00 00"));
}

// ---- COM_STMT_EXECUTE ------------------------------------------------------------------------

struct ExecuteCase {
  std::string name;
  ByteVec payload;
  std::uint16_t param_count;
  std::vector<ValueType> bound_types;  // from an earlier execute
  StmtExecute expected;
};
void PrintTo(const ExecuteCase& c, std::ostream* os) { *os << c.name; }

std::vector<ValueType> echo_types() {
  using T = ColumnType;
  return {{T::tiny, false},       {T::tiny, true},      {T::short_, false},  {T::long_, false},
          {T::longlong, false},   {T::longlong, true},  {T::float_, false},  {T::double_, false},
          {T::newdecimal, false}, {T::date, false},     {T::time, false},    {T::datetime, false},
          {T::timestamp, false},  {T::datetime, false}, {T::varchar, false}, {T::blob, false},
          {T::null, false},       {T::year, false},     {T::int24, false}};
}

std::vector<ExecuteCase> execute_cases() {
  using namespace golden;
  using namespace std::string_view_literals;
  using T = ColumnType;
  std::vector<ExecuteCase> v;
  const std::vector<ValueType> select_types = {{T::long_, false}, {T::var_string, false}};
  v.push_back(
      {"select_new_params",
       ByteVec(std::begin(eof_execute_select_request), std::end(eof_execute_select_request)),
       2,
       {},
       StmtExecute{1, 0, 1, true, select_types, {std::int64_t{123456}, "zzz"sv}}});
  v.push_back({"select_rebind_0",
               ByteVec(std::begin(eof_execute_select_rebind0_request),
                       std::end(eof_execute_select_rebind0_request)),
               2, select_types,
               StmtExecute{1, 0, 1, false, select_types, {std::int64_t{123456}, "zzz"sv}}});
  v.push_back(
      {"cursor",
       ByteVec(std::begin(eof_execute_cursor_request), std::end(eof_execute_cursor_request)),
       2,
       {},
       StmtExecute{
           1, cursor_type_read_only, 1, true, select_types, {std::int64_t{123456}, "zzz"sv}}});
  v.push_back(
      {"insert_with_null",
       ByteVec(std::begin(eof_execute_insert_request), std::end(eof_execute_insert_request)),
       3,
       {},
       StmtExecute{2,
                   0,
                   1,
                   true,
                   {{T::longlong, false}, {T::varchar, false}, {T::null, false}},
                   {std::int64_t{20}, "twenty"sv, std::monostate{}}}});
  v.push_back(
      {"every_type",
       ByteVec(std::begin(eof_execute_echo_request), std::end(eof_execute_echo_request)),
       19,
       {},
       StmtExecute{5,
                   0,
                   1,
                   true,
                   echo_types(),
                   {std::int64_t{-5}, std::uint64_t{0xfb}, std::int64_t{-300}, std::int64_t{-70000},
                    std::int64_t{-9000000000}, std::numeric_limits<std::uint64_t>::max(), 1.5f,
                    -2.25, "1234.567"sv, DateTime{2024, 2, 29}, Time{true, 34, 22, 59, 58, 123456},
                    DateTime{2024, 2, 29, 13, 14, 15, 16}, DateTime{2024, 1, 2, 3, 4, 5},
                    DateTime{}, "hello"sv, "\x00\xff\x10"sv, std::monostate{}, std::int64_t{2024},
                    std::int64_t{1000}}}});
  return v;
}

class ExecuteGolden : public ::testing::TestWithParam<ExecuteCase> {};

TEST_P(ExecuteGolden, Decodes) {
  const ExecuteCase& c = GetParam();
  StmtExecute e;
  ASSERT_FALSE(parse_stmt_execute(c.payload, c.param_count, c.bound_types, e));
  EXPECT_EQ(e.statement_id, c.expected.statement_id);
  EXPECT_EQ(e.flags, c.expected.flags);
  EXPECT_EQ(e.new_params_bound, c.expected.new_params_bound);
  EXPECT_EQ(e.param_types, c.expected.param_types);
  ASSERT_EQ(e.params.size(), c.expected.params.size());
  for (std::size_t i = 0; i < e.params.size(); ++i) {
    EXPECT_TRUE(same_value(e.params[i], c.expected.params[i])) << "param " << i;
  }
  EXPECT_TRUE(e == c.expected);
  std::uint32_t id = 0;
  ASSERT_FALSE(peek_statement_id(c.payload, id));
  EXPECT_EQ(id, c.expected.statement_id);
}

TEST_P(ExecuteGolden, Encodes) {
  ByteVec out;
  Writer w(out);
  serialize_stmt_execute(GetParam().expected, w);
  EXPECT_EQ(testing::to_hex(out), testing::to_hex(GetParam().payload));
}

TEST_P(ExecuteGolden, EveryTruncationFails) {
  const ExecuteCase& c = GetParam();
  for (std::size_t n = 0; n < c.payload.size(); ++n) {
    StmtExecute e;
    const auto ec = parse_stmt_execute(Bytes(c.payload.data(), n), c.param_count, c.bound_types, e);
    EXPECT_TRUE(testing::is_truncation_error(ec)) << n << " " << ec.message();
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, ExecuteGolden, ::testing::ValuesIn(execute_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Execute, WrongParamCountOrUnboundTypesFail) {
  const ByteVec p(std::begin(golden::eof_execute_select_rebind0_request),
                  std::end(golden::eof_execute_select_rebind0_request));
  StmtExecute e;
  EXPECT_EQ(parse_stmt_execute(p, 2, {}, e), make_error_code(Errc::unexpected_packet));
  EXPECT_EQ(parse_stmt_execute(p, 0, {}, e), make_error_code(Errc::malformed));
  EXPECT_EQ(parse_stmt_execute(hex("17 01 00 00 00 00 01 00 00 00 00 02"), 1, {}, e),
            make_error_code(Errc::malformed));  // new-params-bound must be 0 or 1
  EXPECT_EQ(parse_stmt_execute(hex("03 01 00 00 00 00 01 00 00 00"), 0, {}, e),
            make_error_code(Errc::malformed));
  // A parameter sent with SEND_LONG_DATA has no bytes in the execute.
  const bool long_data[] = {false, true};
  const ByteVec ld = hex("17 01 00 00 00 00 01 00 00 00 00 01 03 00 fc 00 40 e2 01 00");
  ASSERT_FALSE(parse_stmt_execute(ld, 2, {}, e, long_data));
  ASSERT_EQ(e.params.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(e.params[1]));
  ByteVec out;
  Writer w(out);
  serialize_stmt_execute(e, w, long_data);
  EXPECT_EQ(out, ld);
}

// ---- Other COM_STMT_* requests ---------------------------------------------------------------

TEST(StmtRequests, GoldenBothWays) {
  using namespace golden;
  {
    const ByteVec p(std::begin(eof_send_long_data_request), std::end(eof_send_long_data_request));
    StmtSendLongData s;
    ASSERT_FALSE(parse_stmt_send_long_data(p, s));
    EXPECT_EQ(s, (StmtSendLongData{2, 1, "long"}));
    ByteVec out;
    Writer w(out);
    serialize_stmt_send_long_data(s, w);
    EXPECT_EQ(out, p);
    for (std::size_t n = 0; n < 7; ++n) {
      EXPECT_TRUE(testing::is_truncation_error(parse_stmt_send_long_data(Bytes(p.data(), n), s)));
    }
  }
  {
    const ByteVec p(std::begin(eof_stmt_reset_request), std::end(eof_stmt_reset_request));
    StmtReset s;
    ASSERT_FALSE(parse_stmt_reset(p, s));
    EXPECT_EQ(s.statement_id, 2u);
    ByteVec out;
    Writer w(out);
    serialize_stmt_reset(s, w);
    EXPECT_EQ(out, p);
    for (std::size_t n = 0; n < p.size(); ++n) {
      EXPECT_TRUE(testing::is_truncation_error(parse_stmt_reset(Bytes(p.data(), n), s)));
    }
  }
  {
    const ByteVec p(std::begin(eof_stmt_close_request), std::end(eof_stmt_close_request));
    StmtClose s;
    ASSERT_FALSE(parse_stmt_close(p, s));
    EXPECT_EQ(s.statement_id, 1u);
    ByteVec out;
    Writer w(out);
    serialize_stmt_close(s, w);
    EXPECT_EQ(out, p);
    for (std::size_t n = 0; n < p.size(); ++n) {
      EXPECT_TRUE(testing::is_truncation_error(parse_stmt_close(Bytes(p.data(), n), s)));
    }
    StmtReset r;
    EXPECT_EQ(parse_stmt_reset(p, r), make_error_code(Errc::malformed));
  }
  {
    const ByteVec p(std::begin(eof_fetch_request), std::end(eof_fetch_request));
    StmtFetch s;
    ASSERT_FALSE(parse_stmt_fetch(p, s));
    EXPECT_EQ(s, (StmtFetch{1, 1}));
    ByteVec out;
    Writer w(out);
    serialize_stmt_fetch(s, w);
    EXPECT_EQ(out, p);
    for (std::size_t n = 0; n < p.size(); ++n) {
      EXPECT_TRUE(testing::is_truncation_error(parse_stmt_fetch(Bytes(p.data(), n), s)));
    }
  }
  {
    const ByteVec p(std::begin(eof_prepare_insert_request), std::end(eof_prepare_insert_request));
    StmtPrepare s;
    ASSERT_FALSE(parse_stmt_prepare(p, s));
    EXPECT_EQ(s.query, "INSERT INTO gg.t VALUES (?, ?, ?)");
    ByteVec out;
    Writer w(out);
    serialize_stmt_prepare(s, w);
    EXPECT_EQ(out, p);
  }
  std::uint32_t id = 0;
  EXPECT_EQ(peek_statement_id(hex("03 01 00 00 00"), id), make_error_code(Errc::unexpected_packet));
  EXPECT_EQ(peek_statement_id(hex("19 01 00"), id), make_error_code(Errc::truncated));
}

// ---- LOCAL INFILE ----------------------------------------------------------------------------

TEST(LocalInfile, RequestGoldenBothWays) {
  for (const ByteVec& p : {golden_packets(golden::eof_local_infile_response)[0],
                           golden_packets(golden::deof_local_infile_response)[0]}) {
    ASSERT_TRUE(is_local_infile_request(p));
    LocalInfileRequest req;
    ASSERT_FALSE(parse_local_infile_request(p, req));
    EXPECT_EQ(req.filename, "/tmp/gcap/data.csv");
    ByteVec out;
    Writer w(out);
    serialize_local_infile_request(req, w);
    EXPECT_EQ(out, p);
  }
  LocalInfileRequest req;
  EXPECT_EQ(parse_local_infile_request({}, req), make_error_code(Errc::truncated));
  EXPECT_EQ(parse_local_infile_request(hex("00 41"), req), make_error_code(Errc::malformed));
}

TEST(LocalInfile, UploadOfTheCapturedFileInEveryChunking) {
  const ByteVec up(std::begin(golden::eof_local_infile_upload_frames),
                   std::end(golden::eof_local_infile_upload_frames));
  ByteVec stream = up;
  stream.push_back(0x42);  // must not be consumed
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    LocalInfileUpload u;
    u.start(2);
    std::error_code ec;
    std::size_t used = u.consume(Bytes(stream.data(), split), ec);
    ASSERT_FALSE(ec);
    used += u.consume(Bytes(stream.data() + used, stream.size() - used), ec);
    ASSERT_FALSE(ec);
    EXPECT_TRUE(u.done()) << split;
    EXPECT_EQ(used, up.size()) << split;
    EXPECT_EQ(u.next_sequence(), 4);  // MariaDB's final OK carried sequence 4
    EXPECT_EQ(u.bytes(), 12u);
  }
  // Byte by byte.
  LocalInfileUpload u;
  u.start(2);
  std::size_t used = 0;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    std::error_code ec;
    used += u.consume(Bytes(stream.data() + used, i + 1 - used), ec);
    ASSERT_FALSE(ec);
  }
  EXPECT_EQ(used, up.size());
}

TEST(LocalInfile, BuildsAndFollowsA16MiBUpload) {
  // A chunk of exactly 0xffffff bytes is followed by an empty frame that only closes it; the
  // upload ends at the next empty packet.
  ByteVec data(max_frame_payload, 'x');
  ByteVec out;
  std::uint8_t seq = 2;
  append_local_infile_data(out, seq, data);
  append_local_infile_data(out, seq, {});
  append_local_infile_end(out, seq);
  EXPECT_EQ(seq, 5);
  EXPECT_EQ(out.size(), 4 + max_frame_payload + 4 + 4);
  LocalInfileUpload u;
  u.start(2);
  std::error_code ec;
  const std::size_t first = u.consume(Bytes(out.data(), 4 + max_frame_payload + 4), ec);
  EXPECT_FALSE(u.done());
  const std::size_t second = u.consume(Bytes(out.data() + first, out.size() - first), ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(u.done());
  EXPECT_EQ(first + second, out.size());
  EXPECT_EQ(u.next_sequence(), 5);
  EXPECT_EQ(u.bytes(), max_frame_payload);
}

TEST(LocalInfile, BadSequenceStops) {
  const ByteVec frames = hex("02 00 00 03 31 32 00 00 00 03");
  LocalInfileUpload u;
  u.start(2);
  std::error_code ec;
  EXPECT_EQ(u.consume(frames, ec), 0u);
  EXPECT_EQ(ec, make_error_code(Errc::bad_sequence));
}

}  // namespace
}  // namespace ghostgate::protocol
