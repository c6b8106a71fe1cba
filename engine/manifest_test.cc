// Manifests (format-spec §9.2, §9.3): ToJson/Parse round trips with every
// member populated, the reader's rejection rules with their error codes,
// io::CheckKey (§9.1), and the local directory store's create-if-absent
// primitive that the commit protocol rests on (§9.4).
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "slaf/manifest.h"
#include "slaf/store.h"

namespace slaf {
namespace {

using Code = Status::Code;

std::span<const uint8_t> Bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

Result<Manifest> ParseText(const std::string& json) { return Manifest::Parse(Bytes(json), "test.json"); }

FileRef File(const std::string& path, uint64_t size, uint64_t xxh3) {
  FileRef f;
  f.path = path;
  f.size = size;
  f.xxh3 = xxh3;
  return f;
}

SegmentRef Segment(const std::string& path, uint64_t first, uint64_t n, uint64_t nnz) {
  SegmentRef s;
  static_cast<FileRef&>(s) = File(path, 1000 + first, 0x0123456789abcdefull ^ first);
  s.first_cell = first;
  s.n_cells = n;
  s.nnz = nnz;
  return s;
}

TableFileRef TableFile(const std::string& path, uint64_t first, uint64_t n) {
  TableFileRef t;
  static_cast<FileRef&>(t) = File(path, 500 + n, 0xfedcba9876543210ull - first);
  t.first_row = first;
  t.n_rows = n;
  return t;
}

ColumnSchema Col(const std::string& name, ColumnType type, std::vector<uint32_t> files,
                 std::vector<std::string> categories = {}) {
  ColumnSchema c;
  c.name = name;
  c.type = type;
  c.files = std::move(files);
  c.categories = std::move(categories);
  return c;
}

DenseEntry Dense(const std::string& path, uint64_t rows, uint32_t cols, DenseType type) {
  DenseEntry d;
  static_cast<FileRef&>(d) = File(path, 64 + rows * cols, rows * 1000003 + cols);
  d.n_rows = rows;
  d.n_cols = cols;
  d.type = type;
  return d;
}

// A manifest with every member populated: two X segments, two layers of
// both value types, obs assembled from appended files plus a replaced
// column, categoricals, obsm/varm of both dtypes, and nested unicode uns.
Manifest FullManifest() {
  Manifest m;
  m.version = 7;
  m.parent = 6;
  m.timestamp_ms = 1795584600123;
  m.operation = "append+set_uns";
  m.message = "tab\there, quote \" backslash \\ newline \n, unicode Zelltyp \xC3\xBC \xE7\xB4\xB0\xE8\x83\x9E \xF0\x9F\xA7\xAC";
  m.n_cells = 10;
  m.n_genes = 5;
  m.x.value_type = ValueType::kUInt32;
  m.x.segments = {Segment("X/00000000000000a1.seg", 0, 6, 17), Segment("X/00000000000000a2.seg", 6, 4, 9)};
  MatrixEntry spliced;
  spliced.value_type = ValueType::kUInt32;
  spliced.segments = {Segment("layers/spliced/b1.seg", 0, 10, 20)};
  MatrixEntry norm;
  norm.value_type = ValueType::kFloat32;
  norm.segments = {Segment("layers/norm/c1.seg", 0, 3, 4), Segment("layers/norm/c2.seg", 3, 0, 0),
                   Segment("layers/norm/c3.seg", 3, 7, 11)};
  m.layers["spliced"] = spliced;
  m.layers["norm"] = norm;

  m.obs.n_rows = 10;
  m.obs.index_column = "cell_id";
  m.obs.files = {TableFile("obs/d1.tbl", 0, 6), TableFile("obs/d2.tbl", 6, 4), TableFile("obs/d3.tbl", 0, 10)};
  m.obs.columns = {Col("cell_id", ColumnType::kString, {0, 1}),
                   Col("cell_type", ColumnType::kCategorical, {0, 1}, {"B cell", "T cell", "NK", "\xC3\x9C"}),
                   Col("total_counts", ColumnType::kInt64, {0, 1}), Col("score", ColumnType::kFloat64, {2}),
                   Col("passed_qc", ColumnType::kBool, {2})};
  m.var.n_rows = 5;
  m.var.index_column = "gene_id";
  m.var.files = {TableFile("var/e1.tbl", 0, 5)};
  m.var.columns = {Col("gene_id", ColumnType::kString, {0}),
                   Col("chrom", ColumnType::kCategorical, {0}, {"chr1", "chrX"})};
  m.obsm["X_pca"] = Dense("obsm/X_pca/f1.dense", 10, 3, DenseType::kFloat32);
  m.obsm["X_umap"] = Dense("obsm/X_umap/f2.dense", 10, 2, DenseType::kFloat64);
  m.varm["PCs"] = Dense("varm/PCs/f3.dense", 5, 3, DenseType::kFloat32);
  // Minified, as Parse stores it: keys in document order, non-ASCII raw.
  m.uns_json =
      "{\"title\":\"Lymphknoten \xC3\xBC \xE7\xB4\xB0\xE8\x83\x9E \xF0\x9F\xA7\xAC\",\"neighbors\":{\"params\":{\"n_neighbors\":15,"
      "\"metric\":\"cosine\",\"offset\":-3,\"scale\":-0.25}},\"colors\":[\"#1f77b4\",null,true,false,[1,[2,[3]]]],"
      "\"escaped\":\"a\\nb\\\"c\\\\d\\u0001\",\"empty\":{},\"big\":9007199254740992,\"small\":-9007199254740992,\"x\":1.5e+300}";
  return m;
}

void ExpectSameFile(const FileRef& a, const FileRef& b) {
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.xxh3, b.xxh3);
}

void ExpectSameMatrix(const MatrixEntry& a, const MatrixEntry& b) {
  EXPECT_EQ(a.value_type, b.value_type);
  ASSERT_EQ(a.segments.size(), b.segments.size());
  for (size_t i = 0; i < a.segments.size(); ++i) {
    ExpectSameFile(a.segments[i], b.segments[i]);
    EXPECT_EQ(a.segments[i].first_cell, b.segments[i].first_cell);
    EXPECT_EQ(a.segments[i].n_cells, b.segments[i].n_cells);
    EXPECT_EQ(a.segments[i].nnz, b.segments[i].nnz);
  }
}

void ExpectSameTable(const TableEntry& a, const TableEntry& b) {
  EXPECT_EQ(a.n_rows, b.n_rows);
  EXPECT_EQ(a.index_column, b.index_column);
  ASSERT_EQ(a.files.size(), b.files.size());
  for (size_t i = 0; i < a.files.size(); ++i) {
    ExpectSameFile(a.files[i], b.files[i]);
    EXPECT_EQ(a.files[i].first_row, b.files[i].first_row);
    EXPECT_EQ(a.files[i].n_rows, b.files[i].n_rows);
  }
  ASSERT_EQ(a.columns.size(), b.columns.size());
  for (size_t i = 0; i < a.columns.size(); ++i) {
    EXPECT_EQ(a.columns[i].name, b.columns[i].name);
    EXPECT_EQ(a.columns[i].type, b.columns[i].type);
    EXPECT_EQ(a.columns[i].categories, b.columns[i].categories);
    EXPECT_EQ(a.columns[i].files, b.columns[i].files);
  }
}

void ExpectSameDense(const std::map<std::string, DenseEntry>& a, const std::map<std::string, DenseEntry>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    EXPECT_EQ(ia->first, ib->first);
    ExpectSameFile(ia->second, ib->second);
    EXPECT_EQ(ia->second.n_rows, ib->second.n_rows);
    EXPECT_EQ(ia->second.n_cols, ib->second.n_cols);
    EXPECT_EQ(ia->second.type, ib->second.type);
  }
}

TEST(Manifest, RoundTripEveryMember) {
  const Manifest m = FullManifest();
  ASSERT_TRUE(m.Validate().ok()) << m.Validate().ToString();
  const std::string json = m.ToJson();
  Result<Manifest> r = ParseText(json);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << "\n" << json;
  const Manifest& p = *r;
  EXPECT_EQ(p.version, 7u);
  EXPECT_EQ(p.parent, 6u);
  EXPECT_EQ(p.timestamp_ms, m.timestamp_ms);
  EXPECT_EQ(p.operation, m.operation);
  EXPECT_EQ(p.message, m.message);
  EXPECT_EQ(p.n_cells, 10u);
  EXPECT_EQ(p.n_genes, 5u);
  ExpectSameMatrix(p.x, m.x);
  ASSERT_EQ(p.layers.size(), 2u);
  ExpectSameMatrix(p.layers.at("spliced"), m.layers.at("spliced"));
  ExpectSameMatrix(p.layers.at("norm"), m.layers.at("norm"));
  ExpectSameTable(p.obs, m.obs);
  ExpectSameTable(p.var, m.var);
  ExpectSameDense(p.obsm, m.obsm);
  ExpectSameDense(p.varm, m.varm);
  EXPECT_EQ(p.uns_json, m.uns_json);
  EXPECT_EQ(p.ToJson(), json);
  EXPECT_EQ(p.x.nnz(), 26u);
  EXPECT_EQ(p.Files().size(), 2u + 4u + 3u + 1u + 3u);
}

TEST(Manifest, WrittenForm) {
  const std::string json = FullManifest().ToJson();
  // §9.2: fixed members and their encodings.
  EXPECT_EQ(json.rfind("{\n  \"format\": \"slaf-dataset\",\n", 0), 0u);
  EXPECT_NE(json.find("\"timestamp\": \"2026-11-25T05:30:00.123Z\""), std::string::npos);
  EXPECT_NE(json.find("\"xxh3\": \"0123456789abcdef\""), std::string::npos);
  EXPECT_NE(json.find("\"format_version\": [\n    1,\n    0\n  ]"), std::string::npos);
  EXPECT_EQ(json.back(), '\n');
  // Non-categorical columns carry no "categories" member.
  size_t categories = 0;
  for (size_t at = json.find("\"categories\""); at != std::string::npos; at = json.find("\"categories\"", at + 1)) ++categories;
  EXPECT_EQ(categories, 2u);
  EXPECT_EQ(ManifestKey(7), "_versions/00000000000000000007.json");
  EXPECT_EQ(ManifestKey(18446744073709551615ull), "_versions/18446744073709551615.json");
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Manifest, EmptyDatasetRoundTrips) {
  Manifest m;
  m.version = 1;
  m.operation = "create";
  m.n_genes = 3;
  m.var.n_rows = 3;  // a table without columns still has the shape's rows
  const std::string json = m.ToJson();
  Result<Manifest> r = ParseText(json);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->n_cells, 0u);
  EXPECT_TRUE(r->x.segments.empty());
  EXPECT_EQ(r->uns_json, "{}");
  EXPECT_EQ(r->ToJson(), json);
}

// Replaces the first occurrence of `from` (which must occur) in `s`.
std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

std::string Nested(int arrays) { return std::string(arrays, '[') + std::string(arrays, ']'); }

struct Case {
  const char* name;
  std::string json;
  Code code;  // kOk: must parse
};

std::vector<Case> Cases() {
  const std::string good = FullManifest().ToJson();
  const std::string seg0 = "\"path\": \"X/00000000000000a1.seg\"";
  auto path = [&](const std::string& escaped) { return Replace(good, seg0, "\"path\": \"" + escaped + "\""); };
  const std::string uns_from = good.substr(good.find("\"uns\": "));
  auto uns = [&](const std::string& value) { return Replace(good, uns_from, "\"uns\": " + value + "\n}\n"); };
  std::vector<Case> c = {
      {"valid", good, Code::kOk},
      {"unknown members are ignored", Replace(good, "\"version\": 7,", "\"version\": 7, \"future\": {\"a\": [1.5, true, null]},"), Code::kOk},
      {"higher minor version", Replace(good, "    1,\n    0\n", "    1,\n    9\n"), Code::kOk},
      {"integer 2^53", Replace(good, "\"size\": 1000,", "\"size\": 9007199254740992,"), Code::kOk},
      {"negative integers inside uns", uns("{\"a\": -9007199254740992, \"b\": [-1, -0.5]}"), Code::kOk},
      {"depth 64", uns("{\"d\": " + Nested(62) + "}"), Code::kOk},
      {"not JSON", "{\"format\": ", Code::kCorruption},
      {"empty document", "", Code::kCorruption},
      {"not an object", "[1, 2]", Code::kCorruption},
      {"trailing garbage", good + "x", Code::kCorruption},
      {"wrong format name", Replace(good, "\"slaf-dataset\"", "\"slaf-datasets\""), Code::kCorruption},
      {"duplicate key at the root", Replace(good, "\"version\": 7,", "\"version\": 7, \"version\": 7,"), Code::kCorruption},
      {"duplicate key inside uns", uns("{\"a\": 1, \"a\": 2}"), Code::kCorruption},
      {"depth 65", uns("{\"d\": " + Nested(63) + "}"), Code::kCorruption},
      {"depth 1000", uns("{\"d\": " + Nested(1000) + "}"), Code::kCorruption},
      {"integer 2^53 + 1", Replace(good, "\"size\": 1000,", "\"size\": 9007199254740993,"), Code::kCorruption},
      {"integer 2^53 + 1 inside uns", uns("{\"a\": 9007199254740993}"), Code::kCorruption},
      {"integer -2^53 - 1 inside uns", uns("{\"a\": -9007199254740993}"), Code::kCorruption},
      {"integer 2^64 - 1", Replace(good, "\"size\": 1000,", "\"size\": 18446744073709551615,"), Code::kCorruption},
      {"integer 2^64", Replace(good, "\"size\": 1000,", "\"size\": 18446744073709551616,"), Code::kCorruption},
      {"negative size", Replace(good, "\"size\": 1000,", "\"size\": -1,"), Code::kCorruption},
      {"negative number in an unknown member", Replace(good, "\"version\": 7,", "\"version\": 7, \"future\": -0.5,"), Code::kCorruption},
      {"fractional size", Replace(good, "\"size\": 1000,", "\"size\": 1000.0,"), Code::kCorruption},
      {"size as a string", Replace(good, "\"size\": 1000,", "\"size\": \"1000\","), Code::kCorruption},
      {"path ../../etc/passwd", path("../../etc/passwd"), Code::kCorruption},
      {"absolute path", path("/abs"), Code::kCorruption},
      {"path s3://other/x", path("s3://other/x"), Code::kCorruption},
      {"path http://169.254.169.254/", path("http://169.254.169.254/"), Code::kCorruption},
      {"path a/%2e%2e/b", path("a/%2e%2e/b"), Code::kCorruption},
      {"path a\\b", path("a\\\\b"), Code::kCorruption},
      {"path with an empty segment", path("X//a.seg"), Code::kCorruption},
      {"path with NUL", path("X/a\\u0000.seg"), Code::kCorruption},
      {"NUL in a string", Replace(good, "\"operation\": \"", "\"operation\": \"a\\u0000b"), Code::kCorruption},
      {"NUL in a key", Replace(good, "\"version\": 7,", "\"version\": 7, \"a\\u0000\": 1,"), Code::kCorruption},
      {"NUL inside uns", uns("{\"a\": [\"x\\u0000\"]}"), Code::kCorruption},
      {"segments with a gap", Replace(good, "\"first_cell\": 6,", "\"first_cell\": 7,"), Code::kCorruption},
      {"segments overlapping", Replace(good, "\"first_cell\": 6,", "\"first_cell\": 5,"), Code::kCorruption},
      {"segments short of n_cells", Replace(good, "\"shape\": [\n    10,", "\"shape\": [\n    11,"), Code::kCorruption},
      {"segments past n_cells", Replace(good, "\"shape\": [\n    10,", "\"shape\": [\n    9,"), Code::kCorruption},
      {"column file index out of range", Replace(good, "\"files\": [\n          2\n        ]", "\"files\": [\n          3\n        ]"),
       Code::kCorruption},
      {"column files with a gap", Replace(good, "\"files\": [\n          0,\n          1\n        ]", "\"files\": [\n          1\n        ]"),
       Code::kCorruption},
      {"table file past n_rows", Replace(good, "\"first_row\": 6,", "\"first_row\": 7,"), Code::kCorruption},
      {"duplicate category", Replace(good, "\"NK\"", "\"T cell\""), Code::kCorruption},
      {"index column not a string column", Replace(good, "\"index\": \"cell_id\"", "\"index\": \"score\""), Code::kCorruption},
      {"obsm with the wrong row count", Replace(good, "\"n_rows\": 10,\n      \"n_cols\": 3", "\"n_rows\": 9,\n      \"n_cols\": 3"),
       Code::kCorruption},
      {"layer named X", Replace(good, "\"spliced\": {", "\"X\": {"), Code::kCorruption},
      {"file listed twice", Replace(good, "layers/spliced/b1.seg", "X/00000000000000a1.seg"), Code::kCorruption},
      {"parent not below version", Replace(good, "\"parent\": 6,", "\"parent\": 7,"), Code::kCorruption},
      {"version 0", Replace(Replace(good, "\"version\": 7,", "\"version\": 0,"), "\"parent\": 6,", "\"parent\": 0,"), Code::kCorruption},
      {"xxh3 upper case", Replace(good, "0123456789abcdef", "0123456789ABCDEF"), Code::kCorruption},
      {"xxh3 too short", Replace(good, "0123456789abcdef", "123456789abcdef"), Code::kCorruption},
      {"missing member", Replace(good, "\"message\": ", "\"massage\": "), Code::kCorruption},
      {"uns not an object", uns("[1]"), Code::kCorruption},
      {"format_version of one element", Replace(good, "    1,\n    0\n", "    1\n"), Code::kCorruption},
      {"format major 2", Replace(good, "    1,\n    0\n", "    2,\n    0\n"), Code::kNotSupported},
      {"unknown value_type", Replace(good, "\"value_type\": \"uint32\"", "\"value_type\": \"int8\""), Code::kNotSupported},
      {"unknown column type", Replace(good, "\"type\": \"int64\"", "\"type\": \"int32\""), Code::kNotSupported},
      {"unknown dtype", Replace(good, "\"dtype\": \"float64\"", "\"dtype\": \"bfloat16\""), Code::kNotSupported},
  };
  std::string big = good;
  big.resize((64u << 20) + 1, ' ');  // valid JSON followed by whitespace, one byte too long
  c.push_back({"64 MiB + 1 document", std::move(big), Code::kCorruption});
  return c;
}

TEST(Manifest, Rejections) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    Result<Manifest> r = ParseText(c.json);
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("test.json"), std::string::npos) << r.status().ToString();
    }
  }
}

// A column that names no file crashed Dataset::obs() (an empty list of
// pieces reached engine::ConcatColumns); such manifests are now rejected.
TEST(Manifest, ColumnWithoutFilesIsRejected) {
  Manifest m;
  m.version = 1;
  m.n_genes = 2;
  m.var.n_rows = 2;
  m.obs.columns = {Col("a", ColumnType::kInt64, {})};
  EXPECT_TRUE(m.Validate().IsCorruption()) << m.Validate().ToString();
  Result<Manifest> r = ParseText(m.ToJson());
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
  // The same table with a file of 0 rows is valid.
  m.obs.files = {TableFile("obs/a.tbl", 0, 0)};
  m.obs.columns[0].files = {0};
  EXPECT_TRUE(m.Validate().ok()) << m.Validate().ToString();
  EXPECT_TRUE(ParseText(m.ToJson()).ok());
}

TEST(Manifest, ErrorsNamePlaceAndSection) {
  const std::string good = FullManifest().ToJson();
  Result<Manifest> r = ParseText(Replace(good, "\"size\": 1000,", "\"size\": -1,"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("$.X.segments[0].size"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("§9.3"), std::string::npos) << r.status().ToString();
  r = ParseText(Replace(good, "\"path\": \"X/00000000000000a1.seg\"", "\"path\": \"../../etc/passwd\""));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("../../etc/passwd"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("§9.1"), std::string::npos) << r.status().ToString();
}

// What a writer may commit is exactly what readers accept: Validate applies
// the §9.3 rules to the parts ToJson copies verbatim or could misencode.
TEST(Manifest, ValidateRejectsWhatReadersWould) {
  auto check = [](const char* name, auto mutate, Code code) {
    SCOPED_TRACE(name);
    Manifest m = FullManifest();
    mutate(m);
    EXPECT_EQ(m.Validate().code(), code) << m.Validate().ToString();
    if (code == Code::kOk) {
      Result<Manifest> r = ParseText(m.ToJson());
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    }
  };
  check("negative numbers in uns", [](Manifest& m) { m.uns_json = "{\"min\":-5,\"offset\":-0.5}"; }, Code::kOk);
  check("uns not JSON", [](Manifest& m) { m.uns_json = "{\"a\":"; }, Code::kCorruption);
  check("uns an array", [](Manifest& m) { m.uns_json = "[]"; }, Code::kCorruption);
  check("uns integer above 2^53", [](Manifest& m) { m.uns_json = "{\"a\":9007199254740993}"; }, Code::kCorruption);
  check("uns duplicate key", [](Manifest& m) { m.uns_json = "{\"a\":1,\"a\":1}"; }, Code::kCorruption);
  check("uns depth 63", [](Manifest& m) { m.uns_json = "{\"d\":" + Nested(62) + "}"; }, Code::kOk);
  check("uns depth 64", [](Manifest& m) { m.uns_json = "{\"d\":" + Nested(63) + "}"; }, Code::kCorruption);
  check("uns with NUL", [](Manifest& m) { m.uns_json = std::string("{\"a\":\"\\u0000\"}"); }, Code::kCorruption);
  check("negative timestamp", [](Manifest& m) { m.timestamp_ms = -1; }, Code::kCorruption);
  check("n_genes above 2^31", [](Manifest& m) { m.n_genes = (1u << 31) + 1; }, Code::kCorruption);
  check("obsm name with ..", [](Manifest& m) { m.obsm[".."] = m.obsm.at("X_pca"); m.obsm.erase("X_pca"); }, Code::kCorruption);
  check("layer name with NUL", [](Manifest& m) { m.layers[std::string("a\0b", 3)] = m.layers.at("norm"); m.layers.erase("norm"); },
        Code::kCorruption);
  check("path with NUL", [](Manifest& m) { m.x.segments[0].path = std::string("X/a\0.seg", 8); }, Code::kCorruption);
}

// ---------------------------------------------------------------------------
// Gene index (format-spec §9.9, dataset format 1.1)

GeneSegmentRef GeneSegment(const std::string& path, uint64_t first, uint64_t n, uint64_t nnz) {
  GeneSegmentRef s;
  static_cast<FileRef&>(s) = File(path, 2000 + first, 0x1111111111111111ull * (first + 1));
  s.first_gene = first;
  s.n_genes = n;
  s.nnz = nnz;
  return s;
}

// FullManifest with an index of X's first 6 cells (its first segment, 17
// entries) and of all 10 cells of layer norm (15 entries).
Manifest IndexedManifest() {
  Manifest m = FullManifest();
  GeneIndexEntry x;
  x.n_cells = 6;
  x.segments = {GeneSegment("gene_index/X/g1.gseg", 0, 2, 7), GeneSegment("gene_index/X/g2.gseg", 2, 3, 10)};
  m.x.gene_index = x;
  GeneIndexEntry n;
  n.n_cells = 10;
  n.segments = {GeneSegment("gene_index/layers/norm/h1.gseg", 0, 5, 15)};
  m.layers["norm"].gene_index = n;
  return m;
}

void ExpectSameIndex(const std::optional<GeneIndexEntry>& a, const std::optional<GeneIndexEntry>& b) {
  ASSERT_EQ(a.has_value(), b.has_value());
  if (!a) return;
  EXPECT_EQ(a->n_cells, b->n_cells);
  ASSERT_EQ(a->segments.size(), b->segments.size());
  for (size_t i = 0; i < a->segments.size(); ++i) {
    ExpectSameFile(a->segments[i], b->segments[i]);
    EXPECT_EQ(a->segments[i].first_gene, b->segments[i].first_gene);
    EXPECT_EQ(a->segments[i].n_genes, b->segments[i].n_genes);
    EXPECT_EQ(a->segments[i].nnz, b->segments[i].nnz);
  }
}

TEST(Manifest, GeneIndexRoundTripsAsFormat11) {
  const Manifest m = IndexedManifest();
  ASSERT_TRUE(m.Validate().ok()) << m.Validate().ToString();
  const std::string json = m.ToJson();
  // The lowest minor version whose members the manifest uses.
  EXPECT_NE(json.find("\"format_version\": [\n    1,\n    1\n  ]"), std::string::npos);
  EXPECT_NE(json.find("\"gene_index\": {\n      \"n_cells\": 6,\n      \"segments\": ["), std::string::npos) << json;
  Result<Manifest> r = ParseText(json);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectSameMatrix(r->x, m.x);
  ExpectSameIndex(r->x.gene_index, m.x.gene_index);
  ExpectSameIndex(r->layers.at("norm").gene_index, m.layers.at("norm").gene_index);
  EXPECT_FALSE(r->layers.at("spliced").gene_index);
  EXPECT_EQ(r->ToJson(), json);
  EXPECT_EQ(r->x.gene_index->nnz(), 17u);
  // Files() lists the index files too, so verify and vacuum see them.
  EXPECT_EQ(r->Files().size(), 2u + 4u + 3u + 1u + 3u + 3u);
  // Without an index the same manifest is 1.0, byte for byte as before.
  Manifest plain = *r;
  plain.x.gene_index.reset();
  plain.layers["norm"].gene_index.reset();
  EXPECT_EQ(plain.ToJson(), FullManifest().ToJson());
}

TEST(Manifest, GeneIndexRejections) {
  const std::string good = IndexedManifest().ToJson();
  const std::vector<Case> cases = {
      {"valid", good, Code::kOk},
      {"index segments with a gap", Replace(good, "\"first_gene\": 2,", "\"first_gene\": 3,"), Code::kCorruption},
      {"index segments overlapping", Replace(good, "\"first_gene\": 2,", "\"first_gene\": 1,"), Code::kCorruption},
      {"index short of n_genes", Replace(good, "\"n_genes\": 3,", "\"n_genes\": 2,"), Code::kCorruption},
      {"index past n_genes", Replace(good, "\"n_genes\": 3,", "\"n_genes\": 4,"), Code::kCorruption},
      {"index over more cells than the matrix", Replace(good, "\"n_cells\": 10,\n        \"segments\"", "\"n_cells\": 11,\n        \"segments\""),
       Code::kCorruption},
      {"index nnz differs from the cells it covers", Replace(good, "\"nnz\": 7", "\"nnz\": 8"), Code::kCorruption},
      {"index path ../x", Replace(good, "gene_index/X/g1.gseg", "../g1.gseg"), Code::kCorruption},
      {"index file listed twice", Replace(good, "gene_index/X/g2.gseg", "X/00000000000000a2.seg"), Code::kCorruption},
      {"index not an object", Replace(good, "\"gene_index\": {", "\"gene_index\": 1, \"ignored\": {"), Code::kCorruption},
      {"index member missing", Replace(good, "\"first_gene\": 2,", "\"first_genes\": 2,"), Code::kCorruption},
      {"index negative n_cells", Replace(good, "\"n_cells\": 6,\n      \"segments\"", "\"n_cells\": -6,\n      \"segments\""),
       Code::kCorruption},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<Manifest> r = ParseText(c.json);
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("test.json"), std::string::npos) << r.status().ToString();
    }
  }
  // The entry count is checked only where the index ends at a segment
  // boundary; cell 5 is inside X's first segment.
  Manifest m = IndexedManifest();
  m.x.gene_index->n_cells = 5;
  EXPECT_TRUE(m.Validate().ok()) << m.Validate().ToString();
  m.x.gene_index->n_cells = 10;  // the end: all 26 entries expected
  EXPECT_TRUE(m.Validate().IsCorruption());
  // An empty index of 0 cells still covers every gene.
  m.x.gene_index->n_cells = 0;
  for (GeneSegmentRef& s : m.x.gene_index->segments) s.nnz = 0;
  EXPECT_TRUE(m.Validate().ok()) << m.Validate().ToString();
  m.x.gene_index->segments.pop_back();
  EXPECT_TRUE(m.Validate().IsCorruption());
  // More cells than a segment has columns.
  Manifest big;
  big.version = 1;
  big.n_cells = (1ull << 31) + 1;
  big.n_genes = 1;
  big.var.n_rows = 1;
  big.obs.n_rows = big.n_cells;
  big.x.segments = {Segment("X/a.seg", 0, big.n_cells, 0)};
  EXPECT_TRUE(big.Validate().ok()) << big.Validate().ToString();
  big.x.gene_index = GeneIndexEntry{big.n_cells, {GeneSegment("gene_index/X/a.gseg", 0, 1, 0)}};
  EXPECT_TRUE(big.Validate().IsCorruption());
}

// ---------------------------------------------------------------------------
// io::CheckKey (format-spec §9.1)

TEST(CheckKey, Accepts) {
  for (const std::string& k : {std::string("X/7f3a.seg"), std::string("_versions/00000000000000000002.json"), std::string("_latest"),
                               std::string("layers/spliced/x.seg"), std::string("a.b/c..d/.hidden"), std::string("obs/\xC3\xA9.tbl"),
                               std::string("a-b_c~d e+f"), std::string(1024, 'a')}) {
    EXPECT_TRUE(io::CheckKey(k).ok()) << k;
  }
}

TEST(CheckKey, Rejects) {
  for (const std::string& k :
       {std::string(""), std::string("/abs"), std::string("../x"), std::string("a/../b"), std::string("a/.."), std::string("./a"),
        std::string("a/./b"), std::string("."), std::string(".."), std::string("a//b"), std::string("a/"), std::string("a\\b"),
        std::string("a/%2e%2e/b"), std::string("%41"), std::string("s3://other/x"), std::string("http://169.254.169.254/"),
        std::string("file:x"), std::string("C:/x"), std::string("a\0b", 3), std::string("a\nb"), std::string("\x7f\x01"),
        std::string(1025, 'a')}) {
    Status s = io::CheckKey(k);
    EXPECT_TRUE(s.IsInvalidArgument()) << k << ": " << s.ToString();
  }
}

// ---------------------------------------------------------------------------
// The local directory store (io/store.cc)

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "slaf-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Result<std::shared_ptr<io::ObjectStore>> s = io::OpenLocalStore(dir_ + "/ds.slaf", /*create=*/true);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = *s;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string GetText(const std::string& key) {
    Result<std::vector<uint8_t>> b = store_->Get(key);
    if (!b.ok()) return "<" + b.status().ToString() + ">";
    return std::string(b->begin(), b->end());
  }

  // Every regular file under the dataset directory, relative.
  std::vector<std::string> FilesOnDisk() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ + "/ds.slaf")) {
      if (e.is_regular_file()) out.push_back(std::filesystem::relative(e.path(), dir_ + "/ds.slaf").string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  static std::vector<std::string> Keys(const std::vector<io::ObjectEntry>& entries) {
    std::vector<std::string> out;
    for (const io::ObjectEntry& e : entries) out.push_back(e.key);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_;
  std::shared_ptr<io::ObjectStore> store_;
};

TEST_F(LocalStoreTest, PutIfAbsentCreatesOnce) {
  const std::string key = ManifestKey(1);
  ASSERT_TRUE(store_->PutIfAbsent(key, Bytes("first")).ok());
  EXPECT_EQ(GetText(key), "first");
  Status s = store_->PutIfAbsent(key, Bytes("second, longer"));
  EXPECT_EQ(s.code(), Code::kConflict) << s.ToString();
  EXPECT_EQ(GetText(key), "first");
  Result<std::unique_ptr<io::WritableFile>> f = store_->Create(key);
  EXPECT_EQ(f.status().code(), Code::kConflict);
  EXPECT_EQ(GetText(key), "first");
  EXPECT_EQ(FilesOnDisk(), std::vector<std::string>{key});  // no temporary files left behind
}

TEST_F(LocalStoreTest, OneWinnerAmongRacingWriters) {
  constexpr int kThreads = 8;
  for (uint64_t v = 1; v <= 20; ++v) {
    std::atomic<int> wins{0}, conflicts{0};
    std::vector<std::string> contents(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      contents[t] = "writer " + std::to_string(t) + std::string(static_cast<size_t>(t) * 1000, 'x');
      threads.emplace_back([&, t] {
        Status s = store_->PutIfAbsent(ManifestKey(v), Bytes(contents[t]));
        if (s.ok()) ++wins;
        else if (s.code() == Code::kConflict) ++conflicts;
      });
    }
    for (std::thread& th : threads) th.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(conflicts.load(), kThreads - 1);
    const std::string got = GetText(ManifestKey(v));
    EXPECT_NE(std::find(contents.begin(), contents.end(), got), contents.end()) << "torn or mixed content";
  }
  for (const std::string& f : FilesOnDisk()) EXPECT_EQ(f.find(".tmp-"), std::string::npos) << f;
}

TEST_F(LocalStoreTest, CreateWriteListDelete) {
  Result<std::unique_ptr<io::WritableFile>> f = store_->Create("X/00000000000000a1.seg");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE((*f)->Append(Bytes("hello ")).ok());
  ASSERT_TRUE((*f)->Append(Bytes("world")).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ((*f)->size(), 11u);
  EXPECT_EQ(GetText("X/00000000000000a1.seg"), "hello world");
  EXPECT_EQ(store_->Create("X/00000000000000a1.seg").status().code(), Code::kConflict);

  ASSERT_TRUE(store_->PutIfAbsent("layers/spliced/b1.seg", Bytes("L")).ok());
  ASSERT_TRUE(store_->PutIfAbsent(ManifestKey(1), Bytes("{}")).ok());
  ASSERT_TRUE(store_->PutIfAbsent(ManifestKey(2), Bytes("{ }")).ok());
  ASSERT_TRUE(store_->Put(kLatestKey, Bytes("1\n")).ok());
  ASSERT_TRUE(store_->Put(kLatestKey, Bytes("2\n")).ok());  // Put replaces
  EXPECT_EQ(GetText(kLatestKey), "2\n");

  Result<std::vector<io::ObjectEntry>> all = store_->List("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Keys(*all), (std::vector<std::string>{"X/00000000000000a1.seg", "_latest", ManifestKey(1), ManifestKey(2),
                                                  "layers/spliced/b1.seg"}));
  Result<std::vector<io::ObjectEntry>> versions = store_->List("_versions/");
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(Keys(*versions), (std::vector<std::string>{ManifestKey(1), ManifestKey(2)}));
  for (const io::ObjectEntry& e : *versions) {
    EXPECT_EQ(e.size, e.key == ManifestKey(1) ? 2u : 3u);
    EXPECT_GT(e.mtime_ms, 0);
  }
  // Prefixes are string prefixes, not directory names.
  EXPECT_EQ(Keys(*store_->List("_")), (std::vector<std::string>{"_latest", ManifestKey(1), ManifestKey(2)}));
  EXPECT_EQ(Keys(*store_->List(ManifestKey(2))), std::vector<std::string>{ManifestKey(2)});
  EXPECT_EQ(Keys(*store_->List("layers/sp")), std::vector<std::string>{"layers/spliced/b1.seg"});
  EXPECT_TRUE(store_->List("obs/").ok() && store_->List("obs/")->empty());

  EXPECT_TRUE(store_->Delete(ManifestKey(1)).ok());
  EXPECT_TRUE(store_->Delete(ManifestKey(1)).IsNotFound());
  EXPECT_TRUE(store_->OpenRead(ManifestKey(1)).status().IsNotFound());
  EXPECT_TRUE(store_->Get("nothing/here").status().IsNotFound());
  EXPECT_EQ(Keys(*store_->List("_versions/")), std::vector<std::string>{ManifestKey(2)});
  // The key is free again.
  EXPECT_TRUE(store_->PutIfAbsent(ManifestKey(1), Bytes("again")).ok());
  EXPECT_EQ(GetText(ManifestKey(1)), "again");
  for (const std::string& f : FilesOnDisk()) EXPECT_EQ(f.find(".tmp-"), std::string::npos) << f;
}

TEST_F(LocalStoreTest, RejectsKeysThatEscape) {
  for (const std::string& k : {std::string("../escaped"), std::string("/tmp/escaped"), std::string("a/../../escaped")}) {
    EXPECT_TRUE(store_->PutIfAbsent(k, Bytes("x")).IsInvalidArgument()) << k;
    EXPECT_TRUE(store_->Put(k, Bytes("x")).IsInvalidArgument()) << k;
    EXPECT_TRUE(store_->Create(k).status().IsInvalidArgument()) << k;
    EXPECT_TRUE(store_->OpenRead(k).status().IsInvalidArgument()) << k;
    EXPECT_TRUE(store_->Delete(k).IsInvalidArgument()) << k;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/escaped"));
  EXPECT_TRUE(FilesOnDisk().empty());
}

TEST_F(LocalStoreTest, OpenChecksTheDirectory) {
  EXPECT_TRUE(io::OpenLocalStore(dir_ + "/missing", /*create=*/false).status().IsNotFound());
  ASSERT_TRUE(store_->PutIfAbsent("plain", Bytes("x")).ok());
  EXPECT_TRUE(io::OpenLocalStore(dir_ + "/ds.slaf/plain", /*create=*/false).status().IsInvalidArgument());
  Result<std::shared_ptr<io::ObjectStore>> again = io::OpenLocalStore(dir_ + "/ds.slaf///", /*create=*/false);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  Result<std::vector<uint8_t>> b = (*again)->Get("plain");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(std::string(b->begin(), b->end()), "x");
}

}  // namespace
}  // namespace slaf
