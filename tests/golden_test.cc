// Golden vectors (format-spec/golden/): the writer still produces the
// committed bytes, the reader decodes the committed files to the expected
// contents (JSON written from the input matrices), and every invalid vector
// fails with the documented error.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <bit>
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
