// Golden vectors (format-spec/golden/): the writers still produce the
// committed bytes, the reader decodes the committed files to the expected
// contents (JSON written from the input matrices), and every invalid vector
// fails with the documented error.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <bit>
#include <cmath>
#include <limits>
#include <fstream>
#include <iterator>

#include "slaf/file.h"
#include "tests/golden_cases.h"

namespace slaf::golden {
namespace {

const std::string kDir = std::string(SLAF_SOURCE_DIR) + "/format-spec/golden/";

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Golden, WriterReproducesCommittedBytes) {
  for (const Case& c : AllCases()) {
    const auto committed = ReadFile(kDir + c.name + ".seg");
    ASSERT_FALSE(committed.empty()) << "missing golden file " << c.name << ".seg (run format-spec/golden/generate.sh for NEW cases only)";
    EXPECT_EQ(Encode(c), committed) << c.name << ": the writer's output drifted from the committed golden file";
  }
}

TEST(Golden, CommittedFilesDecodeToExpectedContents) {
  simdjson::dom::parser parser;
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(c.name);
    simdjson::dom::element doc;
    ASSERT_EQ(parser.load(kDir + c.name + ".json").get(doc), simdjson::SUCCESS);
    auto file = io::OpenLocalFile(kDir + c.name + ".seg");
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    auto reader = SegmentReader::Open(std::shared_ptr<io::RandomAccessFile>(std::move(*file)));
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    ASSERT_TRUE((*reader)->VerifyAll().ok());
    const SegmentInfo& info = (*reader)->info();
    EXPECT_EQ(info.n_rows, uint64_t(doc["n_rows"]));
    EXPECT_EQ(info.n_cols, uint64_t(doc["n_cols"]));
    EXPECT_EQ(info.nnz, uint64_t(doc["nnz"]));
    const bool is_int = std::string_view(doc["value_type"]) == "uint32";
    EXPECT_EQ(info.value_type == ValueType::kUInt32, is_int);
    CsrMatrix m;
    ASSERT_TRUE((*reader)->ReadRows(0, info.n_rows, &m).ok());
    std::vector<uint64_t> indptr, indices;
    std::vector<double> values;
    for (auto x : doc["indptr"].get_array()) indptr.push_back(uint64_t(x));
    for (auto x : doc["indices"].get_array()) indices.push_back(uint64_t(x));
    for (auto x : doc["values"].get_array()) {
      std::string_view special;
      if (x.get(special) == simdjson::SUCCESS) values.push_back(special == "NaN" ? std::numeric_limits<double>::quiet_NaN() : special == "Infinity" ? 1.0 / 0.0 : -1.0 / 0.0);
      else values.push_back(is_int ? double(uint64_t(x)) : double(x));
    }
    EXPECT_EQ(m.indptr, indptr);
    ASSERT_EQ(m.indices.size(), indices.size());
    for (size_t k = 0; k < indices.size(); ++k) {
      EXPECT_EQ(m.indices[k], indices[k]) << "entry " << k;
      // JSON floats are printed with 9 significant digits, which round-trip
      // float32 exactly; compare at float32 precision.
      if (is_int) EXPECT_EQ(m.value(k), values[k]) << "entry " << k;
      else EXPECT_EQ(std::bit_cast<uint32_t>(static_cast<float>(m.value(k))), std::bit_cast<uint32_t>(static_cast<float>(values[k]))) << "entry " << k;
    }
  }
}

TEST(Golden, InvalidVectorsFailWithTheirDocumentedError) {
  for (const InvalidCase& c : InvalidCases()) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ReadFile(kDir + "invalid/" + c.name + ".seg"), c.bytes) << "invalid vector drifted";
    auto file = io::OpenLocalFile(kDir + "invalid/" + c.name + ".seg");
    ASSERT_TRUE(file.ok());
    auto reader = SegmentReader::Open(std::shared_ptr<io::RandomAccessFile>(std::move(*file)));
    Status s = reader.ok() ? (*reader)->VerifyAll() : reader.status();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find(c.expected_error), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find(c.name + ".seg"), std::string::npos) << "error must name the file: " << s.ToString();
  }
}

}  // namespace
}  // namespace slaf::golden

// ---------------------------------------------------------------------------
// Tables (.tbl, format-spec §7) and dense matrices (.dense, §8).

namespace slaf::golden {
namespace {

double JsonFloat(simdjson::dom::element x) {
  std::string_view special;
  if (x.get(special) == simdjson::SUCCESS) return special == "NaN" ? std::numeric_limits<double>::quiet_NaN() : special == "Infinity" ? 1.0 / 0.0 : -1.0 / 0.0;
  return double(x);
}

// NaN matches any NaN (JSON does not keep payloads); everything else bit
// for bit, so -0.0 differs from 0.0.
bool SameFloat(double got, double want) {
  return std::isnan(want) ? std::isnan(got) : std::bit_cast<uint64_t>(got) == std::bit_cast<uint64_t>(want);
}

TEST(GoldenTable, WriterReproducesCommittedBytes) {
  for (const TableCase& c : AllTableCases()) {
    const auto committed = ReadFile(kDir + c.name + ".tbl");
    ASSERT_FALSE(committed.empty()) << "missing golden file " << c.name << ".tbl";
    EXPECT_EQ(EncodeTable(c), committed) << c.name << ": the writer's output drifted from the committed golden file";
  }
  for (const DenseCase& c : AllDenseCases()) {
    const auto committed = ReadFile(kDir + c.name + ".dense");
    ASSERT_FALSE(committed.empty()) << "missing golden file " << c.name << ".dense";
    EXPECT_EQ(EncodeDense(c), committed) << c.name << ": the writer's output drifted from the committed golden file";
  }
}

TEST(GoldenTable, CommittedTablesDecodeToExpectedContents) {
  simdjson::dom::parser parser;
  for (const TableCase& c : AllTableCases()) {
    SCOPED_TRACE(c.name);
    simdjson::dom::element doc;
    ASSERT_EQ(parser.load(kDir + c.name + ".json").get(doc), simdjson::SUCCESS);
    auto file = io::OpenLocalFile(kDir + c.name + ".tbl");
    ASSERT_TRUE(file.ok());
    auto reader = TableReader::Open(std::shared_ptr<io::RandomAccessFile>(std::move(*file)));
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    ASSERT_TRUE((*reader)->VerifyAll().ok()) << (*reader)->VerifyAll().ToString();
    auto table = (*reader)->ReadAll();
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    EXPECT_EQ(table->n_rows, uint64_t(doc["n_rows"]));
    simdjson::dom::array cols = doc["columns"];
    ASSERT_EQ(table->columns.size(), cols.size());
    size_t ci = 0;
    for (simdjson::dom::element jc : cols) {
      const Column& col = table->columns[ci];
      SCOPED_TRACE(col.name);
      EXPECT_EQ(col.name, std::string_view(jc["name"]));
      EXPECT_EQ(ColumnTypeName(col.type), std::string_view(jc["type"]));
      EXPECT_EQ(col.null_count(), uint64_t(jc["null_count"]));
      EXPECT_EQ((*reader)->info().columns[ci].null_count, uint64_t(jc["null_count"]));
      const bool cat = col.type == ColumnType::kCategorical;
      if (cat) {
        std::vector<std::string> want;
        for (auto x : jc["categories"].get_array()) want.emplace_back(std::string_view(x));
        EXPECT_EQ(col.categories, want);
      }
      uint64_t i = 0;
      for (simdjson::dom::element x : jc[cat ? "codes" : "values"].get_array()) {
        ASSERT_LT(i, col.n_rows);
        EXPECT_EQ(col.is_null(i), x.is_null()) << "row " << i;
        if (!x.is_null()) {
          switch (col.type) {
            case ColumnType::kInt64: EXPECT_EQ(col.ints[i], int64_t(x)) << "row " << i; break;
            case ColumnType::kFloat64: EXPECT_TRUE(SameFloat(col.doubles[i], JsonFloat(x))) << "row " << i; break;
            case ColumnType::kBool: EXPECT_EQ(col.bools[i] != 0, bool(x)) << "row " << i; break;
            case ColumnType::kString: EXPECT_EQ(col.str(i), std::string_view(x)) << "row " << i; break;
            case ColumnType::kCategorical: EXPECT_EQ(col.codes[i], uint64_t(x)) << "row " << i; break;
          }
        }
        ++i;
      }
      EXPECT_EQ(i, col.n_rows);
      ++ci;
    }
  }
}

TEST(GoldenTable, CommittedDenseDecodeToExpectedContents) {
  simdjson::dom::parser parser;
  for (const DenseCase& c : AllDenseCases()) {
    SCOPED_TRACE(c.name);
    simdjson::dom::element doc;
    ASSERT_EQ(parser.load(kDir + c.name + ".json").get(doc), simdjson::SUCCESS);
    auto file = io::OpenLocalFile(kDir + c.name + ".dense");
    ASSERT_TRUE(file.ok());
    auto reader = DenseReader::Open(std::shared_ptr<io::RandomAccessFile>(std::move(*file)));
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    ASSERT_TRUE((*reader)->VerifyAll().ok());
    const DenseInfo& info = (*reader)->info();
    EXPECT_EQ(info.n_rows, uint64_t(doc["n_rows"]));
    EXPECT_EQ(info.n_cols, uint64_t(doc["n_cols"]));
    const bool is32 = std::string_view(doc["value_type"]) == "float32";
    EXPECT_EQ(info.type == DenseType::kFloat32, is32);
    DenseMatrix m;
    ASSERT_TRUE((*reader)->ReadRows(0, info.n_rows, &m).ok());
    size_t k = 0;
    for (simdjson::dom::element x : doc["values"].get_array()) {
      ASSERT_LT(k, m.n_rows * m.n_cols);
      const double want = JsonFloat(x);
      // float32 values are printed with 9 digits, which round-trip float32.
      if (is32) EXPECT_TRUE(std::isnan(want) ? std::isnan(m.f32[k]) : std::bit_cast<uint32_t>(m.f32[k]) == std::bit_cast<uint32_t>(static_cast<float>(want))) << "value " << k;
      else EXPECT_TRUE(SameFloat(m.f64[k], want)) << "value " << k;
      ++k;
    }
    EXPECT_EQ(k, m.n_rows * m.n_cols);
  }
}

TEST(GoldenTable, InvalidVectorsFailWithTheirDocumentedError) {
  for (const InvalidCase& c : InvalidTableAndDenseCases()) {
    SCOPED_TRACE(c.name);
    const std::string path = kDir + "invalid/" + c.name + c.ext;
    EXPECT_EQ(ReadFile(path), c.bytes) << "invalid vector drifted";
    auto file = io::OpenLocalFile(path);
    ASSERT_TRUE(file.ok());
    std::shared_ptr<io::RandomAccessFile> f(std::move(*file));
    Status s;
    if (c.ext == ".tbl") {
      auto r = TableReader::Open(f);
      s = r.ok() ? (*r)->VerifyAll() : r.status();
    } else {
      auto r = DenseReader::Open(f);
      s = r.ok() ? (*r)->VerifyAll() : r.status();
    }
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(Status::CodeName(s.code()), c.kind) << s.ToString();
    EXPECT_NE(s.message().find(c.expected_error), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find(c.name + c.ext), std::string::npos) << "error must name the file: " << s.ToString();
  }
}

}  // namespace
}  // namespace slaf::golden
