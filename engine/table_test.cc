// Column tables (format-spec §7): round trips of every column type with
// nulls and special values, row-range reads across chunks, zone maps,
// Validate(), and damaged files (every truncation, every byte flip, crafted
// footers) that must fail cleanly and without large allocations.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "codecs/checksum.h"
#include "engine/format.h"
#include "slaf/file.h"
#include "slaf/table.h"
#include "tests/alloc_guard.h"

namespace slaf {
namespace {

using engine::Load;
using engine::Store;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();

std::vector<uint8_t> Write(const Table& t, TableWriterOptions o = {}) {
  if (o.file_id == 0) o.file_id = 0x5eed;
  std::vector<uint8_t> bytes;
  auto f = io::NewMemoryWritableFile("t.tbl", &bytes);
  auto r = WriteTable(f.get(), t, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return bytes;
}

Result<std::unique_ptr<TableReader>> Open(std::vector<uint8_t> bytes, std::string name = "t.tbl") {
  return TableReader::Open(std::shared_ptr<io::RandomAccessFile>(io::NewMemoryFile(std::move(name), std::move(bytes))));
}

// Sets row i null, putting the zero value in its slot as Validate requires.
void SetNull(Column* c, uint64_t i) {
  if (c->valid.empty()) c->valid.assign(c->n_rows, 1);
  c->valid[i] = 0;
  switch (c->type) {
    case ColumnType::kInt64: c->ints[i] = 0; break;
    case ColumnType::kFloat64: c->doubles[i] = 0; break;
    case ColumnType::kBool: c->bools[i] = 0; break;
    case ColumnType::kCategorical: c->codes[i] = 0; break;
    case ColumnType::kString: {
      const uint64_t len = c->offsets[i + 1] - c->offsets[i];
      c->chars.erase(c->offsets[i], len);
      for (uint64_t j = i + 1; j <= c->n_rows; ++j) c->offsets[j] -= len;
      break;
    }
  }
}

// Rows [b, e) of a column, as the reader returns them (no valid array when
// the range holds no nulls).
Column Slice(const Column& c, uint64_t b, uint64_t e) {
  Column s;
  s.name = c.name;
  s.type = c.type;
  s.n_rows = e - b;
  s.categories = c.categories;
  bool nulls = false;
  for (uint64_t i = b; i < e; ++i) nulls |= c.is_null(i);
  if (nulls) s.valid.assign(c.valid.begin() + b, c.valid.begin() + e);
  switch (c.type) {
    case ColumnType::kInt64: s.ints.assign(c.ints.begin() + b, c.ints.begin() + e); break;
    case ColumnType::kFloat64: s.doubles.assign(c.doubles.begin() + b, c.doubles.begin() + e); break;
    case ColumnType::kBool: s.bools.assign(c.bools.begin() + b, c.bools.begin() + e); break;
    case ColumnType::kCategorical: s.codes.assign(c.codes.begin() + b, c.codes.begin() + e); break;
    case ColumnType::kString:
      s.offsets.push_back(0);
      for (uint64_t i = b; i < e; ++i) s.offsets.push_back(c.offsets[i + 1] - c.offsets[b]);
      s.chars = c.chars.substr(c.offsets[b], c.offsets[e] - c.offsets[b]);
      break;
  }
  return s;
}

// A table of every type with special values and nulls in every column.
Table SpecialTable() {
  Table t;
  t.n_rows = 12;
  t.columns.push_back(Column::Int64("i", {0, -1, kMin64, kMax64, 42, 7, -7, 1, 2, 3, 1000000007, 0}));
  t.columns.push_back(Column::Float64("f", {std::numeric_limits<double>::quiet_NaN(), kInf, -kInf, -0.0, 0.0, 1.5, 5e-324, -1e308, 3.25, 0, 2.0, -2.0}));
  t.columns.push_back(Column::Bool("b", {1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0}));
  t.columns.push_back(Column::String("s", {"", std::string("a\0b", 3), "héllo wörld ✓", "x", "", "long string with spaces", "\xff\xfe", "z", "q", "", "cell_000001", "end"}));
  t.columns.push_back(Column::Categorical("c", {2, 0, 1, 2, 2, 0, 1, 1, 2, 0, 3, 0}, {"T cells", "B cells", "NK", ""}));
  for (Column& c : t.columns) {
    SetNull(&c, 4);
    SetNull(&c, 9);
  }
  SetNull(&t.columns[0], 11);
  SetNull(&t.columns[3], 0);
  return t;
}

// Random table of `rows` rows; nulls at about null_pct percent.
Table RandomTable(uint64_t rows, int null_pct, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> small, wide;
  std::vector<double> f;
  std::vector<uint8_t> b;
  std::vector<std::string> s;
  std::vector<uint32_t> codes;
  for (uint64_t i = 0; i < rows; ++i) {
    small.push_back(static_cast<int64_t>(rng() % 100000) - 50000);
    wide.push_back(static_cast<int64_t>(rng()));
    f.push_back(rng() % 50 == 0 ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(static_cast<int64_t>(rng() % 2000001) - 1000000) / 37.0);
    b.push_back(rng() % 2);
    s.push_back("cell_" + std::to_string(rng() % 1000000) + std::string(rng() % 4, 'x'));
    codes.push_back(static_cast<uint32_t>(rng() % 7));
  }
  Table t;
  t.n_rows = rows;
  t.columns.push_back(Column::Int64("small", small));
  t.columns.push_back(Column::Int64("wide", wide));
  t.columns.push_back(Column::Float64("f", f));
  t.columns.push_back(Column::Bool("b", b));
  t.columns.push_back(Column::String("s", s));
  t.columns.push_back(Column::Categorical("cat", codes, {"g", "a", "f", "b", "e", "c", "d"}));
  if (null_pct) {
    for (Column& c : t.columns) {
      for (uint64_t i = 0; i < rows; ++i) {
        if (static_cast<int>(rng() % 100) < null_pct) SetNull(&c, i);
      }
    }
  }
  return t;
}

void ExpectTablesEqual(const Table& want, const Table& got) {
  ASSERT_EQ(want.n_rows, got.n_rows);
  ASSERT_EQ(want.columns.size(), got.columns.size());
  for (size_t i = 0; i < want.columns.size(); ++i) EXPECT_TRUE(want.columns[i].Equals(got.columns[i])) << "column " << want.columns[i].name;
}

TEST(Table, ColumnTypeNames) {
  for (ColumnType t : {ColumnType::kInt64, ColumnType::kFloat64, ColumnType::kBool, ColumnType::kString, ColumnType::kCategorical}) {
    auto p = ParseColumnType(ColumnTypeName(t));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, t);
  }
  EXPECT_TRUE(ParseColumnType("int32").status().IsInvalidArgument());
}

TEST(Table, RoundTripSpecialValuesEveryCodec) {
  const Table t = SpecialTable();
  ASSERT_TRUE(t.Validate().ok()) << t.Validate().ToString();
  for (ChunkCodecChoice codec : {ChunkCodecChoice::kAuto, ChunkCodecChoice::kNone, ChunkCodecChoice::kZstd, ChunkCodecChoice::kLz4}) {
    for (uint32_t rpc : {1u, 3u, 5u, 8u, 65536u}) {
      SCOPED_TRACE(testing::Message() << "codec " << int(codec) << " rows_per_chunk " << rpc);
      TableWriterOptions o;
      o.codec = codec;
      o.rows_per_chunk = rpc;
      auto r = Open(Write(t, o));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_TRUE((*r)->VerifyAll().ok()) << (*r)->VerifyAll().ToString();
      auto all = (*r)->ReadAll();
      ASSERT_TRUE(all.ok()) << all.status().ToString();
      ExpectTablesEqual(t, *all);
      const TableInfo& info = (*r)->info();
      EXPECT_EQ(info.n_rows, 12u);
      EXPECT_EQ(info.file_id, 0x5eedu);
      ASSERT_EQ(info.columns.size(), 5u);
      EXPECT_EQ(info.columns[0].null_count, 3u);
      EXPECT_EQ(info.columns[3].null_count, 3u);
      EXPECT_EQ(info.columns[4].categories, t.columns[4].categories);
      EXPECT_EQ(info.FindColumn("s"), 3);
      EXPECT_EQ(info.FindColumn("nope"), -1);
    }
  }
}

TEST(Table, RoundTripRandomAndRanges) {
  for (int null_pct : {0, 10, 100}) {
    const Table t = RandomTable(1000, null_pct, 7 + null_pct);
    ASSERT_TRUE(t.Validate().ok());
    for (uint32_t rpc : {97u, 128u, 1000u}) {
      TableWriterOptions o;
      o.rows_per_chunk = rpc;
      o.codec = rpc == 97 ? ChunkCodecChoice::kZstd : ChunkCodecChoice::kAuto;
      auto r = Open(Write(t, o));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_TRUE((*r)->VerifyAll().ok());
      auto all = (*r)->ReadAll();
      ASSERT_TRUE(all.ok());
      ExpectTablesEqual(t, *all);
      const std::pair<uint64_t, uint64_t> ranges[] = {{0, 0}, {0, 1}, {96, 98}, {127, 129}, {128, 256}, {5, 995}, {999, 1000}, {1000, 1000}, {300, 301}, {0, 1000}};
      for (size_t ci = 0; ci < t.columns.size(); ++ci) {
        for (auto [b, e] : ranges) {
          Column got;
          ASSERT_TRUE((*r)->ReadColumn(ci, b, e, &got).ok());
          EXPECT_TRUE(Slice(t.columns[ci], b, e).Equals(got)) << t.columns[ci].name << " [" << b << ", " << e << ") rpc " << rpc << " nulls " << null_pct;
        }
      }
    }
  }
}

TEST(Table, ReadColumnArguments) {
  auto r = Open(Write(RandomTable(10, 0, 1)));
  ASSERT_TRUE(r.ok());
  Column c;
  EXPECT_TRUE((*r)->ReadColumn(6, &c).IsInvalidArgument());
  EXPECT_TRUE((*r)->ReadColumn(0, 5, 4, &c).IsInvalidArgument());
  EXPECT_TRUE((*r)->ReadColumn(0, 11, 20, &c).IsInvalidArgument());
  ASSERT_TRUE((*r)->ReadColumn(0, 4, 1000, &c).ok());  // end clamps to n_rows
  EXPECT_EQ(c.n_rows, 6u);
}

TEST(Table, EncodingsChosenByRange) {
  Table t;
  t.n_rows = 4;
  t.columns.push_back(Column::Int64("narrow", {kMax64, kMax64 - 4294967295, kMax64 - 5, kMax64}));  // range exactly 2^32-1: frame of reference
  t.columns.push_back(Column::Int64("wide", {kMin64, 0, kMax64, 1}));                                // range over 2^32: plain
  t.columns.push_back(Column::Int64("wide2", {0, 4294967296, 1, 2}));
  TableWriterOptions o;
  o.codec = ChunkCodecChoice::kNone;
  auto r = Open(Write(t, o));
  ASSERT_TRUE(r.ok());
  const TableInfo& info = (*r)->info();
  EXPECT_EQ(info.columns[0].chunks[0].encoding, 1);
  EXPECT_EQ(info.columns[1].chunks[0].encoding, 2);
  EXPECT_EQ(info.columns[2].chunks[0].encoding, 2);
  auto all = (*r)->ReadAll();
  ASSERT_TRUE(all.ok());
  ExpectTablesEqual(t, *all);
}

TEST(Table, ZoneMapsMatchHandComputedValues) {
  Table t;
  t.n_rows = 6;
  t.columns.push_back(Column::Int64("i", {5, -3, 0, 9, 100, -100}));
  t.columns.push_back(Column::Float64("f", {std::numeric_limits<double>::quiet_NaN(), 2.5, -kInf, 7.0, 0.5, 1.0}));
  t.columns.push_back(Column::Bool("b", {0, 0, 0, 1, 1, 1}));
  t.columns.push_back(Column::String("s", {"b", "a", "c", "d", "e", "f"}));
  t.columns.push_back(Column::Categorical("c", {3, 1, 2, 0, 0, 0}, {"w", "x", "y", "z"}));
  SetNull(&t.columns[0], 1);  // -3 gone from chunk 0
  SetNull(&t.columns[1], 2);  // -inf gone
  SetNull(&t.columns[2], 3);
  SetNull(&t.columns[2], 4);
  SetNull(&t.columns[2], 5);  // chunk 1 of b is all null
  TableWriterOptions o;
  o.rows_per_chunk = 3;
  auto r = Open(Write(t, o));
  ASSERT_TRUE(r.ok());
  const TableInfo& info = (*r)->info();
  auto z = [&](int col, int k) { return info.columns[col].chunks[k]; };
  EXPECT_TRUE(z(0, 0).has_minmax);
  EXPECT_EQ(z(0, 0).min_int, 0);
  EXPECT_EQ(z(0, 0).max_int, 5);
  EXPECT_EQ(z(0, 0).null_count, 1u);
  EXPECT_EQ(z(0, 1).min_int, -100);
  EXPECT_EQ(z(0, 1).max_int, 100);
  EXPECT_EQ(z(0, 1).first_row, 3u);
  EXPECT_EQ(z(0, 1).n_rows, 3u);
  EXPECT_TRUE(z(1, 0).has_minmax);  // NaN excluded, -inf null
  EXPECT_EQ(z(1, 0).min_double, 2.5);
  EXPECT_EQ(z(1, 0).max_double, 2.5);
  EXPECT_EQ(z(1, 1).min_double, 0.5);
  EXPECT_EQ(z(1, 1).max_double, 7.0);
  EXPECT_EQ(z(2, 0).min_int, 0);
  EXPECT_EQ(z(2, 0).max_int, 0);
  EXPECT_FALSE(z(2, 1).has_minmax);
  EXPECT_EQ(z(2, 1).null_count, 3u);
  EXPECT_FALSE(z(3, 0).has_minmax);  // strings: no zone map
  EXPECT_EQ(z(4, 0).min_int, 1);
  EXPECT_EQ(z(4, 0).max_int, 3);
  EXPECT_EQ(z(4, 1).min_int, 0);
  EXPECT_EQ(z(4, 1).max_int, 0);
  EXPECT_EQ(info.columns[2].null_count, 3u);
}

TEST(Table, AllNanChunkHasNoMinMax) {
  Table t;
  t.n_rows = 2;
  t.columns.push_back(Column::Float64("f", {std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::quiet_NaN()}));
  auto r = Open(Write(t));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE((*r)->info().columns[0].chunks[0].has_minmax);
  ASSERT_TRUE((*r)->VerifyAll().ok());
  auto all = (*r)->ReadAll();
  ASSERT_TRUE(all.ok());
  ExpectTablesEqual(t, *all);
}

TEST(Table, EmptyTables) {
  Table zero_rows;
  zero_rows.columns.push_back(Column::Int64("i", {}));
  zero_rows.columns.push_back(Column::String("s", {}));
  zero_rows.columns.push_back(Column::Categorical("c", {}, {"a", "b"}));
  Table no_columns;
  no_columns.n_rows = 5;
  for (const Table* t : {&zero_rows, &no_columns}) {
    auto r = Open(Write(*t));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE((*r)->VerifyAll().ok());
    auto all = (*r)->ReadAll();
    ASSERT_TRUE(all.ok());
    ExpectTablesEqual(*t, *all);
  }
  EXPECT_EQ(Write(Table{}).size(), 128u);
}

TEST(Table, ValidateRejectsBadColumns) {
  auto invalid = [](const Column& c) { return c.Validate().IsInvalidArgument(); };
  EXPECT_TRUE(Column::Int64("x", {1, 2}).Validate().ok());
  Column c = Column::Categorical("c", {0, 2}, {"a", "b"});
  EXPECT_TRUE(invalid(c)) << "code out of range";
  c = Column::Categorical("c", {0, 1}, {"a", "a"});
  EXPECT_TRUE(invalid(c)) << "duplicate categories";
  c = Column::Int64("x", {1, 2});
  c.n_rows = 3;
  EXPECT_TRUE(invalid(c)) << "wrong size";
  c = Column::Int64("x", {1, 2});
  c.doubles = {1.0};
  EXPECT_TRUE(invalid(c)) << "array of another type";
  c = Column::Int64("x", {1, 2});
  c.valid = {1};
  EXPECT_TRUE(invalid(c)) << "valid size";
  c.valid = {1, 2};
  EXPECT_TRUE(invalid(c)) << "valid byte 2";
  c.valid = {1, 0};
  EXPECT_TRUE(invalid(c)) << "null row holding 2";
  c = Column::Bool("b", {0, 3});
  EXPECT_TRUE(invalid(c)) << "bool 3";
  c = Column::String("s", {"ab", "c"});
  c.offsets[1] = 5;
  EXPECT_TRUE(invalid(c)) << "offsets decrease";
  c = Column::String("s", {"ab", "c"});
  c.chars += "x";
  EXPECT_TRUE(invalid(c)) << "offsets do not end at chars";
  c = Column::String("s", {"ab", "c"});
  c.offsets[0] = 1;
  EXPECT_TRUE(invalid(c)) << "offsets[0]";
  c = Column::Float64("f", {1.0, -0.0});
  c.valid = {1, 0};
  EXPECT_TRUE(invalid(c)) << "null row holding -0.0";
  c = Column::Categorical("c", {0, 5}, {"a"});
  c.valid = {1, 0};
  EXPECT_TRUE(invalid(c)) << "null row holding code 5";
  c.codes[1] = 0;
  EXPECT_TRUE(c.Validate().ok());

  Table t;
  t.n_rows = 2;
  t.columns.push_back(Column::Int64("x", {1, 2}));
  t.columns.push_back(Column::Int64("x", {1, 2}));
  EXPECT_TRUE(t.Validate().IsInvalidArgument()) << "duplicate names";
  t.columns[1].name = "";
  EXPECT_TRUE(t.Validate().IsInvalidArgument()) << "empty name";
  t.columns[1] = Column::Int64("y", {1});
  EXPECT_TRUE(t.Validate().IsInvalidArgument()) << "row count";
  std::vector<uint8_t> bytes;
  auto f = io::NewMemoryWritableFile("bad.tbl", &bytes);
  EXPECT_TRUE(WriteTable(f.get(), t, {}).status().IsInvalidArgument());
  t.columns.pop_back();
  TableWriterOptions o;
  o.rows_per_chunk = 0;
  EXPECT_TRUE(WriteTable(f.get(), t, o).status().IsInvalidArgument());
}

TEST(Table, ColumnHelpers) {
  Table t = SpecialTable();
  const Column* s = t.Find("s");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(t.Find("missing"), nullptr);
  EXPECT_EQ(s->str(1), std::string_view("a\0b", 3));
  EXPECT_EQ(s->str(0), "");
  EXPECT_EQ(t.Find("c")->str(0), "NK");
  EXPECT_EQ(t.Find("c")->str(4), "");  // null
  EXPECT_EQ(t.Find("c")->str(10), "");  // the empty category
  EXPECT_EQ(t.Find("i")->null_count(), 3u);
  Column a = Column::Float64("f", {std::numeric_limits<double>::quiet_NaN()});
  EXPECT_TRUE(a.Equals(a));
  Column z = Column::Float64("f", {0.0}), nz = Column::Float64("f", {-0.0});
  EXPECT_FALSE(z.Equals(nz));
  Column v = z;
  v.valid = {1};
  EXPECT_TRUE(v.Equals(z));  // an all-valid array equals no array
}

TEST(Table, OtherKindsAreNotSupported) {
  std::vector<uint8_t> bytes = Write(SpecialTable());
  std::memcpy(bytes.data() + 4, "XCSR", 4);
  auto r = Open(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotSupported()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("column table kind"), std::string::npos) << r.status().ToString();
  // A segment reader rejects a table the same way.
  auto seg = SegmentReader::Open(std::shared_ptr<io::RandomAccessFile>(io::NewMemoryFile("t.tbl", Write(SpecialTable()))));
  ASSERT_FALSE(seg.ok());
  EXPECT_TRUE(seg.status().IsNotSupported()) << seg.status().ToString();
}

// ---------------------------------------------------------------------------
// Damage.

Status OpenAndReadAll(const std::vector<uint8_t>& bytes, Table* out) {
  auto r = Open(bytes);
  if (!r.ok()) return r.status();
  auto all = (*r)->ReadAll();
  if (!all.ok()) return all.status();
  *out = std::move(*all);
  return (*r)->VerifyAll();
}

Table SmallTable() {
  Table t = RandomTable(40, 20, 3);
  t.columns.push_back(Column::Float64("plain", std::vector<double>(40, 1.25)));
  return t;
}

TEST(TableCorruption, EveryTruncationFails) {
  TableWriterOptions o;
  o.rows_per_chunk = 16;
  const std::vector<uint8_t> bytes = Write(SmallTable(), o);
  g_alloc_guard = true;
  for (size_t len = 0; len < bytes.size(); ++len) {
    Table t;
    Status s;
    try {
      s = OpenAndReadAll(std::vector<uint8_t>(bytes.begin(), bytes.begin() + len), &t);
    } catch (const std::bad_alloc&) {
      g_alloc_guard = false;
      FAIL() << "allocation over the cap at length " << len;
    }
    ASSERT_FALSE(s.ok()) << "length " << len;
    EXPECT_TRUE(s.IsCorruption() || s.IsNotSupported()) << s.ToString();
  }
  g_alloc_guard = false;
}

TEST(TableCorruption, EveryByteFlipFailsOrReadsTheSame) {
  for (ChunkCodecChoice codec : {ChunkCodecChoice::kNone, ChunkCodecChoice::kZstd}) {
    TableWriterOptions o;
    o.rows_per_chunk = 16;
    o.codec = codec;
    const Table want = SmallTable();
    const std::vector<uint8_t> bytes = Write(want, o);
    g_alloc_guard = true;
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (uint8_t mask : {uint8_t{0x01}, uint8_t{0xff}}) {
        std::vector<uint8_t> b = bytes;
        b[i] ^= mask;
        Table got;
        Status s;
        try {
          s = OpenAndReadAll(b, &got);
        } catch (const std::bad_alloc&) {
          g_alloc_guard = false;
          FAIL() << "allocation over the cap, byte " << i;
        }
        if (s.ok()) {
          ExpectTablesEqual(want, got);
        } else {
          EXPECT_TRUE(s.IsCorruption() || s.IsNotSupported()) << "byte " << i << ": " << s.ToString();
          EXPECT_NE(s.message().find("t.tbl"), std::string::npos) << s.ToString();
        }
      }
    }
    g_alloc_guard = false;
  }
}

// Rewrites footer fields and reseals the footer checksum, so the defect
// itself is what the reader meets.
struct Crafted {
  std::vector<uint8_t> bytes;
  uint64_t fo = 0, flen = 0;
  explicit Crafted(std::vector<uint8_t> b) : bytes(std::move(b)) {
    fo = Load<uint64_t>(bytes.data() + bytes.size() - 32);
    flen = Load<uint64_t>(bytes.data() + bytes.size() - 24);
  }
  uint8_t* footer() { return bytes.data() + fo; }
  uint64_t dir() { return fo + 64 + Load<uint32_t>(footer() + 24); }  // directory's file offset
  std::vector<uint8_t> Sealed() {
    Store<uint64_t>(bytes.data() + bytes.size() - 16, codecs::Checksum64(bytes.data() + fo, flen, fo));
    return bytes;
  }
};

Status OpenStatus(const std::vector<uint8_t>& b) {
  g_alloc_guard = true;
  Status s;
  try {
    Table t;
    s = OpenAndReadAll(b, &t);
  } catch (const std::bad_alloc&) {
    s = Status::IOError("allocation over the cap");
  }
  g_alloc_guard = false;
  return s;
}

TEST(TableCorruption, CraftedFooters) {
  TableWriterOptions o;
  o.rows_per_chunk = 16;
  o.codec = ChunkCodecChoice::kNone;
  const std::vector<uint8_t> good = Write(SmallTable(), o);
  auto expect = [](const Status& s, bool not_supported, const std::string& text) {
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.IsNotSupported(), not_supported) << s.ToString();
    EXPECT_TRUE(s.IsCorruption() || s.IsNotSupported()) << s.ToString();
    EXPECT_NE(s.message().find(text), std::string::npos) << s.ToString();
  };
  {
    Crafted c(good);
    Store<uint32_t>(c.footer() + 16, 1u << 31);  // n_columns
    expect(OpenStatus(c.Sealed()), false, "exceeds the limit 2^20");
  }
  {
    Crafted c(good);
    Store<uint32_t>(c.footer() + 16, 1u << 20);
    expect(OpenStatus(c.Sealed()), false, "cannot fit in descriptors_len");
  }
  {
    Crafted c(good);
    Store<uint32_t>(c.footer() + 20, 1u << 31);  // n_chunks
    expect(OpenStatus(c.Sealed()), false, "does not match descriptors_len");
  }
  {
    Crafted c(good);
    Store<uint64_t>(c.footer() + 8, 1ull << 40);  // n_rows
    expect(OpenStatus(c.Sealed()), false, "chunks hold");
  }
  {
    Crafted c(good);
    c.footer()[64] = 9;  // column 0's type
    expect(OpenStatus(c.Sealed()), true, "unknown column type 9");
  }
  {
    Crafted c(good);
    Store<uint32_t>(c.footer() + 64 + 4, 0x7fffffff);  // n_categories of an int column
    expect(OpenStatus(c.Sealed()), false, "not categorical");
  }
  {
    Crafted c(good);
    c.bytes[c.dir() + 37] = 7;  // chunk 0's encoding
    expect(OpenStatus(c.Sealed()), true, "unknown encoding 7");
  }
  {
    Crafted c(good);
    c.bytes[c.dir() + 36] = 3;  // chunk 0's codec
    expect(OpenStatus(c.Sealed()), true, "unknown codec id 3");
  }
  {
    Crafted c(good);
    Store<uint32_t>(c.bytes.data() + c.dir() + 24, 17);  // chunk 0's n_rows
    expect(OpenStatus(c.Sealed()), false, "first_row 16, expected 17");
  }
  {
    Crafted c(good);
    Store<uint32_t>(c.bytes.data() + c.dir() + 8, 1u << 28);  // stored_len past the footer
    expect(OpenStatus(c.Sealed()), false, "runs past the footer");
  }
  {
    Crafted c(good);
    Store<uint64_t>(c.bytes.data() + c.dir() + 40, 0);  // zone-map min of "small" chunk 0
    Store<uint64_t>(c.bytes.data() + c.dir() + 48, 0);
    expect(OpenStatus(c.Sealed()), false, "zone map");
  }
  {
    // One chunk claiming 2^24 rows in a tiny payload: raw_len cannot hold them.
    Table one;
    one.n_rows = 3;
    one.columns.push_back(Column::Categorical("c", {0, 1, 0}, {"a", "b"}));
    Crafted c(Write(one, o));
    Store<uint32_t>(c.bytes.data() + c.dir() + 24, 1u << 24);
    Store<uint64_t>(c.footer() + 8, 1u << 24);
    expect(OpenStatus(c.Sealed()), false, "raw_len 3 cannot hold 16777216 rows");
  }
}

// A compressed chunk may claim up to 2^24 rows in a 256 MiB payload from a
// few stored bytes; nothing that large is allocated before its frame proves
// the claim, and a failed read leaves no half-filled column behind.
TEST(TableCorruption, CompressedChunkClaimingHugeRowsFailsWithoutAllocating) {
  Table one;
  one.n_rows = 300;
  std::vector<uint32_t> codes(300);
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = i % 3;
  one.columns.push_back(Column::Categorical("c", codes, {"a", "b", "c"}));
  TableWriterOptions o;
  o.codec = ChunkCodecChoice::kZstd;
  Crafted c(Write(one, o));
  ASSERT_EQ(c.bytes[c.dir() + 36], 1) << "chunk must be zstd-compressed for this test";
  Store<uint32_t>(c.bytes.data() + c.dir() + 24, 1u << 24);       // n_rows
  Store<uint32_t>(c.bytes.data() + c.dir() + 12, 1u << 18);       // raw_len: the minimum for 2^24 codes
  Store<uint64_t>(c.footer() + 8, 1u << 24);                      // table n_rows
  auto r = Open(c.Sealed());
  ASSERT_TRUE(r.ok()) << r.status().ToString();  // the footer alone is consistent
  Column col = Column::Int64("stale", {1, 2, 3});
  g_alloc_guard = true;
  Status s;
  try {
    s = (*r)->ReadColumn(0, &col);
  } catch (const std::bad_alloc&) {
    s = Status::IOError("allocation over the cap");
  }
  g_alloc_guard = false;
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("zstd frame declares"), std::string::npos) << s.ToString();
  EXPECT_EQ(col.n_rows, 0u);
  EXPECT_TRUE(col.codes.empty());
}

}  // namespace
}  // namespace slaf
