#include "tests/golden_cases.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "codecs/checksum.h"
#include "engine/format.h"
#include "slaf/file.h"

namespace slaf::golden {

std::vector<uint8_t> Encode(const Case& c) {
  std::vector<uint8_t> bytes;
  auto file = io::NewMemoryWritableFile(c.name + ".seg", &bytes);
  auto w = SegmentWriter::Create(file.get(), c.options);
  if (!w.ok()) return {};
  const CsrMatrix& m = c.matrix;
  CsrRowsView v{m.n_rows, m.indptr.data(), m.indices.data(), m.counts.data(), m.floats.data()};
  if (!(*w)->AppendRows(v).ok() || !(*w)->Finish().ok()) return {};
  return bytes;
}

namespace {
template <typename T>
void Array(std::string* o, const char* key, const std::vector<T>& v, bool last = false) {
  *o += "  \"";
  *o += key;
  *o += "\": [";
  char buf[64];
  for (size_t i = 0; i < v.size(); ++i) {
    // JSON has no NaN or infinity: those are written as strings.
    if constexpr (std::is_same_v<T, float>) {
      const double d = v[i];
      if (d != d) std::snprintf(buf, sizeof buf, "%s\"NaN\"", i ? ", " : "");
      else if (d == 1.0 / 0.0 || d == -1.0 / 0.0) std::snprintf(buf, sizeof buf, "%s\"%sInfinity\"", i ? ", " : "", d < 0 ? "-" : "");
      else if (d == 0 && std::signbit(d)) std::snprintf(buf, sizeof buf, "%s-0.0", i ? ", " : "");  // "-0" would parse as integer 0
      else std::snprintf(buf, sizeof buf, "%s%.9g", i ? ", " : "", d);
    }
    else std::snprintf(buf, sizeof buf, "%s%llu", i ? ", " : "", static_cast<unsigned long long>(v[i]));
    *o += buf;
  }
  *o += last ? "]\n" : "],\n";
}
}  // namespace

std::string ExpectedJson(const Case& c) {
  const CsrMatrix& m = c.matrix;
  std::string o = "{\n";
  o += "  \"file\": \"" + c.name + ".seg\",\n";
  o += "  \"description\": \"" + c.what + "\",\n";
  o += "  \"n_rows\": " + std::to_string(m.n_rows) + ",\n";
  o += "  \"n_cols\": " + std::to_string(m.n_cols) + ",\n";
  o += std::string("  \"value_type\": \"") + (m.value_type == ValueType::kUInt32 ? "uint32" : "float32") + "\",\n";
  o += "  \"nnz\": " + std::to_string(m.nnz()) + ",\n";
  Array(&o, "indptr", m.indptr);
  Array(&o, "indices", m.indices);
  if (m.value_type == ValueType::kUInt32) Array(&o, "values", m.counts, true);
  else Array(&o, "values", m.floats, true);
  o += "}\n";
  return o;
}

std::vector<InvalidCase> InvalidCases() {
  const std::vector<uint8_t> good = Encode(AllCases()[0]);  // tiny_counts
  const size_t size = good.size();
  const uint64_t footer_offset = engine::Load<uint64_t>(good.data() + size - 32);
  const uint64_t footer_len = engine::Load<uint64_t>(good.data() + size - 24);
  // Rewrites the footer checksum in the tail after a deliberate footer edit,
  // so the defect behind it is what the reader reports.
  auto reseal = [&](std::vector<uint8_t>* b) {
    engine::Store<uint64_t>(b->data() + size - 16, codecs::Checksum64(b->data() + footer_offset, footer_len, footer_offset));
  };
  std::vector<InvalidCase> v;
  auto add = [&](std::string name, std::string defect, std::string err, auto mutate) {
    InvalidCase c{std::move(name), std::move(defect), std::move(err), good, ".seg", ""};
    mutate(&c.bytes);
    v.push_back(std::move(c));
  };
  add("bad_magic", "first byte changed from 'S' to 'X'", "expected magic \"SLAF\"", [](auto* b) { (*b)[0] = 'X'; });
  add("major_version_2", "header and tail say format major version 2", "major version 2", [&](auto* b) {
    engine::Store<uint16_t>(b->data() + 8, 2);
    engine::Store<uint16_t>(b->data() + size - 8, 2);
  });
  add("truncated_tail", "last 10 bytes cut off", "tail magic", [](auto* b) { b->resize(b->size() - 10); });
  add("chunk_bit_flip", "one bit flipped inside chunk 0's payload (file offset 40)", "checksum mismatch", [](auto* b) { (*b)[40] ^= 0x04; });
  add("footer_bit_flip", "one bit flipped in the footer's n_rows", "footer checksum mismatch", [&](auto* b) { (*b)[footer_offset + 8] ^= 0x01; });
  add("footer_offset_past_end", "tail's footer_offset points past the end of the file", "does not end at the tail", [&](auto* b) {
    engine::Store<uint64_t>(b->data() + size - 32, 1ull << 40);
  });
  add("unknown_codec", "chunk 0's codec id set to 9 (footer checksum recomputed)", "unknown codec id 9", [&](auto* b) {
    (*b)[footer_offset + 64 + 64] = 9;
    reseal(b);
  });
  add("rows_mismatch", "footer n_rows says 5 while the chunks hold 4 (footer checksum recomputed)", "footer says n_rows 5", [&](auto* b) {
    engine::Store<uint64_t>(b->data() + footer_offset + 8, 5);
    reseal(b);
  });
  add("huge_chunk_count", "footer n_chunks set to 2^31 (footer checksum recomputed)", "does not match n_chunks", [&](auto* b) {
    engine::Store<uint32_t>(b->data() + footer_offset + 24, 1u << 31);
    reseal(b);
  });
  return v;
}

}  // namespace slaf::golden

// ---------------------------------------------------------------------------
// Table (.tbl) and dense (.dense) vectors.

namespace slaf::golden {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Row i null, with the zero value in its slot (Column::Validate).
void Null(Column* c, uint64_t i) {
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

TableWriterOptions TableOpts(uint64_t file_id, ChunkCodecChoice codec, uint32_t rows_per_chunk = 65536) {
  TableWriterOptions o;
  o.file_id = file_id;
  o.codec = codec;
  o.rows_per_chunk = rows_per_chunk;
  return o;
}

std::string JsonString(std::string_view s) {
  std::string o = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      o += '\\';
      o += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      o += buf;
    } else {
      o += static_cast<char>(ch);
    }
  }
  return o + "\"";
}

// JSON has no NaN or infinity: those are strings; -0.0 keeps its sign.
// `digits` 9 round-trips float32, 17 float64.
std::string JsonDouble(double d, int digits) {
  char buf[64];
  if (d != d) return "\"NaN\"";
  if (d == kInf) return "\"Infinity\"";
  if (d == -kInf) return "\"-Infinity\"";
  if (d == 0 && std::signbit(d)) return "-0.0";
  std::snprintf(buf, sizeof buf, "%.*g", digits, d);
  std::string s = buf;
  // Keep every float a JSON float ("2" would read back as an integer).
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

std::vector<TableCase> AllTableCases() {
  std::vector<TableCase> cases;
  {
    TableCase c{"table_all_types", "8 rows, one column of each type (int64, float64, bool, string, categorical), nulls in every column, codec none", {}, TableOpts(101, ChunkCodecChoice::kNone)};
    Table& t = c.table;
    t.n_rows = 8;
    t.columns.push_back(Column::Int64("n_genes", {1200, 3400, -5, 77, 99999, 7, 1200, 42}));
    t.columns.push_back(Column::Float64("score", {0.5, kNaN, kInf, -kInf, -0.0, 3.0, 1e-300, 2.75}));
    t.columns.push_back(Column::Bool("is_doublet", {0, 1, 1, 1, 0, 0, 1, 0}));
    t.columns.push_back(Column::String("barcode", {"cell_0", "cell_1", "", "ünïcödé ✓", std::string("a\0b", 3), "gone", "x", "last"}));
    t.columns.push_back(Column::Categorical("cell_type", {0, 1, 2, 0, 1, 1, 2, 2}, {"T", "B", "NK"}));
    Null(&t.columns[0], 3);
    Null(&t.columns[1], 5);
    Null(&t.columns[2], 3);
    Null(&t.columns[3], 5);
    Null(&t.columns[4], 4);
    cases.push_back(std::move(c));
  }
  {
    TableCase c{"table_multi_chunk_zstd", "100 rows in chunks of 16 rows (7 chunks per column), codec zstd where it is smaller, nulls", {}, TableOpts(102, ChunkCodecChoice::kZstd, 16)};
    Table& t = c.table;
    t.n_rows = 100;
    uint64_t s = 102;
    std::vector<int64_t> umi;
    std::vector<double> mito;
    std::vector<uint8_t> pass;
    std::vector<std::string> barcode;
    std::vector<uint32_t> batch;
    for (int i = 0; i < 100; ++i) {
      umi.push_back(1000 + Lcg(&s) % 5000);
      mito.push_back((Lcg(&s) % 400) / 16.0);
      pass.push_back(Lcg(&s) % 4 != 0);
      char buf[32];
      std::snprintf(buf, sizeof buf, "AAACCTG%05u-1", Lcg(&s) % 100000);
      barcode.push_back(buf);
      batch.push_back(i < 40 ? 0 : i < 75 ? 1 : 2);
    }
    t.columns.push_back(Column::Int64("total_counts", umi));
    t.columns.push_back(Column::Float64("pct_mito", mito));
    t.columns.push_back(Column::Bool("pass_qc", pass));
    t.columns.push_back(Column::String("barcode", barcode));
    t.columns.push_back(Column::Categorical("batch", batch, {"b1", "b2", "b3"}));
    for (int i = 5; i < 100; i += 13) Null(&t.columns[0], i);
    for (int i = 20; i < 40; ++i) Null(&t.columns[1], i);  // chunk 1 of pct_mito: rows 16-31, all null from 20
    for (int i = 0; i < 100; i += 31) Null(&t.columns[3], i);
    cases.push_back(std::move(c));
  }
  {
    TableCase c{"table_categorical_order", "10 rows: categories in a non-sorted order with an unused one; a categorical with no categories whose rows are all null", {}, TableOpts(103, ChunkCodecChoice::kNone)};
    Table& t = c.table;
    t.n_rows = 10;
    t.columns.push_back(Column::Categorical("leiden", {4, 1, 2, 0, 0, 4, 1, 2, 2, 0}, {"10", "2", "1", "unused", "0"}));
    t.columns.push_back(Column::Categorical("empty", std::vector<uint32_t>(10, 0), {}));
    Null(&t.columns[0], 6);
    for (int i = 0; i < 10; ++i) Null(&t.columns[1], i);
    cases.push_back(std::move(c));
  }
  {
    TableCase c{"table_int64_wide", "6 rows: an int64 column whose range exceeds 2^32 (plain encoding 2) with INT64_MIN/MAX, and one spanning exactly 2^32-1 (frame of reference)", {}, TableOpts(104, ChunkCodecChoice::kNone)};
    Table& t = c.table;
    t.n_rows = 6;
    t.columns.push_back(Column::Int64("wide", {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 0, -1, 4294967296, 12345}));
    t.columns.push_back(Column::Int64("narrow", {-2147483648ll, 2147483647ll, 0, -1, 1, 99}));
    Null(&t.columns[0], 4);
    cases.push_back(std::move(c));
  }
  {
    TableCase c{"table_zero_rows", "0 rows, one column of each type: descriptors but no chunks", {}, TableOpts(105, ChunkCodecChoice::kAuto)};
    Table& t = c.table;
    t.columns.push_back(Column::Int64("i", {}));
    t.columns.push_back(Column::Float64("f", {}));
    t.columns.push_back(Column::Bool("b", {}));
    t.columns.push_back(Column::String("s", {}));
    t.columns.push_back(Column::Categorical("c", {}, {"a", "b"}));
    cases.push_back(std::move(c));
  }
  {
    TableCase c{"table_lz4", "40 rows in chunks of 20, codec lz4 where it is smaller", {}, TableOpts(106, ChunkCodecChoice::kLz4, 20)};
    Table& t = c.table;
    t.n_rows = 40;
    std::vector<std::string> names;
    std::vector<int64_t> len;
    for (int i = 0; i < 40; ++i) {
      names.push_back("GENE" + std::to_string(i % 7) + "-AS" + std::to_string(i % 3));
      len.push_back(i * 1000 - 20000);
    }
    t.columns.push_back(Column::String("gene_symbol", names));
    t.columns.push_back(Column::Int64("length", len));
    cases.push_back(std::move(c));
  }
  {
    // The worked example of format-spec §7.12.
    TableCase c{"table_tiny", "3 rows: int64 with a null, categorical; codec none (format-spec §7.12 worked example)", {}, TableOpts(0x0123456789abcdefull, ChunkCodecChoice::kNone)};
    Table& t = c.table;
    t.n_rows = 3;
    t.columns.push_back(Column::Int64("n", {5, 0, 7}));
    t.columns.push_back(Column::Categorical("ct", {1, 0, 1}, {"B", "T"}));
    Null(&t.columns[0], 1);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<DenseCase> AllDenseCases() {
  std::vector<DenseCase> cases;
  auto opts = [](uint64_t id, ChunkCodecChoice codec, bool shuffle, uint32_t target) {
    DenseWriterOptions o;
    o.file_id = id;
    o.codec = codec;
    o.shuffle = shuffle;
    o.target_chunk_bytes = target;
    return o;
  };
  {
    DenseCase c{"dense_f32_shuffled_zstd", "50 x 6 float32, byte planes (encoding 2) with zstd, 10 rows per chunk (5 chunks)", {}, opts(201, ChunkCodecChoice::kZstd, true, 240)};
    DenseMatrix& m = c.matrix;
    m.n_rows = 50;
    m.n_cols = 6;
    m.type = DenseType::kFloat32;
    uint64_t s = 201;
    for (int i = 0; i < 300; ++i) m.f32.push_back(static_cast<float>(static_cast<int>(Lcg(&s) % 64) - 32) / 8.0f);
    m.f32[7] = std::numeric_limits<float>::quiet_NaN();
    m.f32[8] = -0.0f;
    m.f32[9] = std::numeric_limits<float>::infinity();
    m.f32[200] = 1e-40f;
    cases.push_back(std::move(c));
  }
  {
    DenseCase c{"dense_f64_plain_none", "7 x 3 float64, plain (encoding 1), codec none, one chunk; NaN, +-inf, -0, subnormal", {}, opts(202, ChunkCodecChoice::kNone, false, 256 * 1024)};
    DenseMatrix& m = c.matrix;
    m.n_rows = 7;
    m.n_cols = 3;
    m.type = DenseType::kFloat64;
    m.f64 = {1.0, -2.5, 0.1, kNaN, kInf, -kInf, -0.0, 0.0, 5e-324, 1.7976931348623157e308, -1e-10, 3.0, 42.0, -42.0, 0.25, 1.0 / 3.0, 2.0, -8.0, 123456.789, -0.5, 7.0};
    cases.push_back(std::move(c));
  }
  {
    DenseCase c{"dense_zero_rows", "0 x 16 float32: a file with no chunks", {}, opts(203, ChunkCodecChoice::kAuto, true, 256 * 1024)};
    c.matrix.n_cols = 16;
    cases.push_back(std::move(c));
  }
  {
    // The worked example of format-spec §8.7.
    DenseCase c{"dense_tiny", "2 x 2 float32, plain, codec none (format-spec §8.7 worked example)", {}, opts(0x0123456789abcdefull, ChunkCodecChoice::kNone, false, 256 * 1024)};
    c.matrix.n_rows = 2;
    c.matrix.n_cols = 2;
    c.matrix.f32 = {1.0f, -2.5f, 0.0f, 0.1f};
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<uint8_t> EncodeTable(const TableCase& c) {
  std::vector<uint8_t> bytes;
  auto file = io::NewMemoryWritableFile(c.name + ".tbl", &bytes);
  if (!WriteTable(file.get(), c.table, c.options).ok()) return {};
  return bytes;
}

std::vector<uint8_t> EncodeDense(const DenseCase& c) {
  std::vector<uint8_t> bytes;
  auto file = io::NewMemoryWritableFile(c.name + ".dense", &bytes);
  if (!WriteDense(file.get(), c.matrix, c.options).ok()) return {};
  return bytes;
}

std::string ExpectedTableJson(const TableCase& c) {
  const Table& t = c.table;
  std::string o = "{\n";
  o += "  \"file\": \"" + c.name + ".tbl\",\n";
  o += "  \"description\": " + JsonString(c.what) + ",\n";
  o += "  \"n_rows\": " + std::to_string(t.n_rows) + ",\n";
  o += "  \"columns\": [";
  for (size_t ci = 0; ci < t.columns.size(); ++ci) {
    const Column& col = t.columns[ci];
    o += ci ? ",\n    {" : "\n    {";
    o += "\"name\": " + JsonString(col.name) + ", \"type\": \"" + std::string(ColumnTypeName(col.type)) + "\", \"null_count\": " + std::to_string(col.null_count()) + ",\n     ";
    if (col.type == ColumnType::kCategorical) {
      o += "\"categories\": [";
      for (size_t j = 0; j < col.categories.size(); ++j) o += (j ? ", " : "") + JsonString(col.categories[j]);
      o += "],\n     ";
    }
    // Null rows are JSON null; categorical columns list their codes.
    o += col.type == ColumnType::kCategorical ? "\"codes\": [" : "\"values\": [";
    for (uint64_t i = 0; i < t.n_rows; ++i) {
      if (i) o += ", ";
      if (col.is_null(i)) {
        o += "null";
        continue;
      }
      switch (col.type) {
        case ColumnType::kInt64: o += std::to_string(col.ints[i]); break;
        case ColumnType::kFloat64: o += JsonDouble(col.doubles[i], 17); break;
        case ColumnType::kBool: o += col.bools[i] ? "true" : "false"; break;
        case ColumnType::kString: o += JsonString(col.str(i)); break;
        case ColumnType::kCategorical: o += std::to_string(col.codes[i]); break;
      }
    }
    o += "]}";
  }
  o += t.columns.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return o;
}

std::string ExpectedDenseJson(const DenseCase& c) {
  const DenseMatrix& m = c.matrix;
  const bool is32 = m.type == DenseType::kFloat32;
  std::string o = "{\n";
  o += "  \"file\": \"" + c.name + ".dense\",\n";
  o += "  \"description\": " + JsonString(c.what) + ",\n";
  o += "  \"n_rows\": " + std::to_string(m.n_rows) + ",\n";
  o += "  \"n_cols\": " + std::to_string(m.n_cols) + ",\n";
  o += std::string("  \"value_type\": \"") + (is32 ? "float32" : "float64") + "\",\n";
  o += "  \"values\": [";
  for (uint64_t k = 0; k < m.n_rows * m.n_cols; ++k) {
    if (k) o += k % m.n_cols == 0 ? ",\n    " : ", ";
    o += is32 ? JsonDouble(m.f32[k], 9) : JsonDouble(m.f64[k], 17);
  }
  o += "]\n}\n";
  return o;
}

std::vector<InvalidCase> InvalidTableAndDenseCases() {
  std::vector<InvalidCase> v;
  // Returns a function that applies `mutate` to a copy of `good` and, when
  // `reseal`, recomputes the footer checksum in the tail so the defect is
  // what the reader reports.
  auto add = [&](const std::vector<uint8_t>& good, const char* ext, std::string name, std::string defect, std::string err, std::string kind, bool reseal, auto mutate) {
    InvalidCase c{std::move(name), std::move(defect), std::move(err), good, ext, std::move(kind)};
    const size_t size = good.size();
    const uint64_t fo = engine::Load<uint64_t>(good.data() + size - 32), flen = engine::Load<uint64_t>(good.data() + size - 24);
    mutate(c.bytes.data(), fo);
    if (reseal) engine::Store<uint64_t>(c.bytes.data() + size - 16, codecs::Checksum64(c.bytes.data() + fo, flen, fo));
    v.push_back(std::move(c));
  };
  const std::vector<uint8_t> tbl = EncodeTable(AllTableCases()[0]);  // table_all_types
  // The directory starts after the fixed part and descriptors_len bytes.
  const uint64_t tfo = engine::Load<uint64_t>(tbl.data() + tbl.size() - 32);
  const uint64_t dir = tfo + 64 + engine::Load<uint32_t>(tbl.data() + tfo + 24);
  const uint32_t n_chunks = engine::Load<uint32_t>(tbl.data() + tfo + 20);
  add(tbl, ".tbl", "table_chunk_bit_flip", "bit 0 of byte 40 flipped (inside chunk 0, column n_genes)", "checksum mismatch", "Corruption", false, [](uint8_t* b, uint64_t) { b[40] ^= 0x01; });
  add(tbl, ".tbl", "table_stored_len_past_footer", "the last chunk's stored_len grown by 1000 so it runs past the footer (footer checksum recomputed)", "runs past the footer", "Corruption", true,
      [&](uint8_t* b, uint64_t) {
        uint8_t* e = b + dir + 64ull * (n_chunks - 1) + 8;
        engine::Store<uint32_t>(e, engine::Load<uint32_t>(e) + 1000);
      });
  add(tbl, ".tbl", "table_name_past_descriptors", "column 0's name_len set to 60000, past the end of the descriptors (footer checksum recomputed)", "runs past the descriptors", "Corruption", true,
      [](uint8_t* b, uint64_t fo) { engine::Store<uint16_t>(b + fo + 64 + 2, 60000); });
  add(tbl, ".tbl", "table_unknown_column_type", "column 0's type set to 9 (footer checksum recomputed)", "unknown column type 9", "NotSupported", true, [](uint8_t* b, uint64_t fo) { b[fo + 64] = 9; });
  add(tbl, ".tbl", "table_huge_column_count", "footer n_columns set to 2^20 (footer checksum recomputed)", "cannot fit in descriptors_len", "Corruption", true,
      [](uint8_t* b, uint64_t fo) { engine::Store<uint32_t>(b + fo + 16, 1u << 20); });
  const std::vector<uint8_t> dense = EncodeDense(AllDenseCases()[1]);  // dense_f64_plain_none
  add(dense, ".dense", "dense_chunk_bit_flip", "bit 7 of byte 100 flipped (inside chunk 0)", "checksum mismatch", "Corruption", false, [](uint8_t* b, uint64_t) { b[100] ^= 0x80; });
  add(dense, ".dense", "dense_unknown_encoding", "chunk 0's encoding set to 7 (footer checksum recomputed)", "unknown encoding 7", "NotSupported", true, [](uint8_t* b, uint64_t fo) { b[fo + 64 + 29] = 7; });
  add(dense, ".dense", "dense_raw_len_mismatch", "chunk 0's raw_len set to 176, not n_rows x n_cols x 8 = 168 (footer checksum recomputed)", "raw_len 176", "Corruption", true,
      [](uint8_t* b, uint64_t fo) { engine::Store<uint32_t>(b + fo + 64 + 12, 176); });
  return v;
}

}  // namespace slaf::golden
