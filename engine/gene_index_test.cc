// Gene index (format-spec §9.9 "gene_index"): BuildGeneIndex and
// Dataset::ReadGenes. Oracle: the cells read back with ReadCellRange,
// transposed in the test through a std::map, so ReadGenes is checked with
// and without an index, with a prefix index plus appended cells, on a float
// layer, across versions, after damage and after vacuum. The .gseg files are
// also decoded by the independent Python reference reader.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <bit>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "engine/csr_util.h"
#include "slaf/dataset.h"
#include "slaf/dataset_writer.h"
#include "tests/dataset_fixtures.h"

namespace slaf {
namespace {

using testing::TempDir;

std::shared_ptr<io::ObjectStore> Store(const TempDir& dir) {
  auto s = io::OpenLocalStore(dir / "ds.slaf", /*create=*/true);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

// gene -> cell -> value bits, from the cell-major reader.
using Transposed = std::map<uint32_t, std::map<uint64_t, uint32_t>>;

Transposed Transpose(const Dataset& ds, const std::string& layer = "") {
  CsrMatrix m;
  EXPECT_TRUE(ds.ReadCellRange(0, ds.n_cells(), &m, layer).ok());
  Transposed t;
  for (uint64_t r = 0; r < m.n_rows; ++r) {
    for (uint64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) {
      t[m.indices[k]][r] = m.value_type == ValueType::kUInt32 ? m.counts[k] : std::bit_cast<uint32_t>(m.floats[k]);
    }
  }
  return t;
}

// ReadGenes(genes) must be the oracle's rows, bit for bit.
void ExpectGenes(const Dataset& ds, const std::vector<uint32_t>& genes, const std::string& layer = "") {
  const Transposed t = Transpose(ds, layer);
  Result<CsrMatrix> got = ds.ReadGenes(genes, layer);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->n_rows, genes.size());
  ASSERT_EQ(got->n_cols, ds.n_cells());
  ASSERT_EQ(got->indptr.size(), genes.size() + 1);
  for (size_t i = 0; i < genes.size(); ++i) {
    std::map<uint64_t, uint32_t> row;
    for (uint64_t k = got->indptr[i]; k < got->indptr[i + 1]; ++k) {
      if (k > got->indptr[i]) {
        ASSERT_LT(got->indices[k - 1], got->indices[k]) << "gene " << genes[i];
      }
      row[got->indices[k]] = got->value_type == ValueType::kUInt32 ? got->counts[k] : std::bit_cast<uint32_t>(got->floats[k]);
    }
    auto it = t.find(genes[i]);
    EXPECT_EQ(row, (it == t.end() ? std::map<uint64_t, uint32_t>() : it->second)) << "gene " << genes[i];
  }
}

std::vector<uint32_t> AllGenes(uint32_t n) {
  std::vector<uint32_t> g(n);
  for (uint32_t i = 0; i < n; ++i) g[i] = i;
  return g;
}

// Small budgets so the sort spills and the index spans several files.
WriteOptions SmallIndexOptions(const TempDir& dir) {
  WriteOptions o;
  o.sort_memory_bytes = 64 << 10;
  o.spill_dir = dir.path();
  o.gene_index_nnz_per_segment = 2000;
  return o;
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void FlipByte(const std::string& path, long offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset);
  char c;
  f.read(&c, 1);
  f.seekp(offset);
  c ^= 0x10;
  f.write(&c, 1);
}

TEST(GeneIndex, ReadGenesWithAndWithoutTheIndex) {
  TempDir dir;
  auto store = Store(dir);
  WriteOptions opts;
  opts.cells_per_segment = 90;  // five segments
  ASSERT_EQ(testing::CreateDataset(store, testing::Cells(0, 400, 300), opts), 1u);
  const std::vector<uint32_t> some = {299, 0, 17, 17, 150, 3};

  // Version 1 has no index: ReadGenes scans the cell-major segments.
  auto v1 = Dataset::Open(store);
  ASSERT_TRUE(v1.ok());
  EXPECT_FALSE((*v1)->manifest().x.gene_index);
  ExpectGenes(**v1, some);
  ExpectGenes(**v1, AllGenes(300));
  ExpectGenes(**v1, {});

  std::vector<uint64_t> progress;
  auto built = BuildGeneIndex(store, "", SmallIndexOptions(dir), [&](uint64_t done) { progress.push_back(done); });
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_EQ(*built, 2u);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), 400u);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));

  auto v2 = Dataset::Open(store);
  ASSERT_TRUE(v2.ok());
  const Manifest& m = (*v2)->manifest();
  EXPECT_EQ(m.operation, "gene_index");
  ASSERT_TRUE(m.x.gene_index);
  EXPECT_EQ(m.x.gene_index->n_cells, 400u);
  EXPECT_GT(m.x.gene_index->segments.size(), 2u) << "2000 entries per file";
  EXPECT_EQ(m.x.gene_index->nnz(), m.x.nnz());
  for (const GeneSegmentRef& s : m.x.gene_index->segments) {
    EXPECT_EQ(s.path.rfind("gene_index/X/", 0), 0u) << s.path;
    EXPECT_EQ(s.path.substr(s.path.size() - 5), ".gseg") << s.path;
  }
  // Everything else is as in version 1.
  EXPECT_EQ(m.x.segments.size(), (*v1)->manifest().x.segments.size());
  EXPECT_EQ(m.obs.files.size(), (*v1)->manifest().obs.files.size());
  // Format 1.1 only where a gene index is listed.
  EXPECT_NE(ReadText(dir / ("ds.slaf/" + ManifestKey(2))).find("\"format_version\": [\n    1,\n    1\n  ]"), std::string::npos);
  EXPECT_NE(ReadText(dir / ("ds.slaf/" + ManifestKey(1))).find("\"format_version\": [\n    1,\n    0\n  ]"), std::string::npos);

  ExpectGenes(**v2, some);
  ExpectGenes(**v2, AllGenes(300));
  EXPECT_TRUE((*v2)->Verify().ok());
  EXPECT_EQ((*v2)->Verify().files_checked, 5 + 2 + m.x.gene_index->segments.size());

  // Time travel: version 1 still has no index and reads the same.
  auto again = Dataset::Open(store, OpenOptions{1, {}});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)->manifest().x.gene_index);
  ExpectGenes(**again, some);

  // Already complete: no new version.
  auto twice = BuildGeneIndex(store);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(*twice, 2u);
  EXPECT_EQ(*LatestVersion(store.get()), 2u);
}

TEST(GeneIndex, AppendedCellsComeFromTheCellMajorSegments) {
  TempDir dir;
  auto store = Store(dir);
  WriteOptions opts;
  opts.cells_per_segment = 120;
  testing::CreateDataset(store, testing::Cells(0, 300, 200), opts);
  ASSERT_TRUE(BuildGeneIndex(store, "", SmallIndexOptions(dir)).ok());
  const CsrMatrix more = testing::Cells(300, 170, 200, 9);
  auto v3 = testing::AppendCells(store, more, testing::ObsFor(more, 300), opts);
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();

  auto ds = Dataset::Open(store);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ((*ds)->n_cells(), 470u);
  ASSERT_TRUE((*ds)->manifest().x.gene_index) << "an append keeps the index of the older cells";
  EXPECT_EQ((*ds)->manifest().x.gene_index->n_cells, 300u);
  ExpectGenes(**ds, {0, 199, 5, 77, 77, 120});
  ExpectGenes(**ds, AllGenes(200));
  EXPECT_TRUE((*ds)->Verify().ok());

  // Rebuilding covers every cell again.
  auto v4 = BuildGeneIndex(store, "", SmallIndexOptions(dir));
  ASSERT_TRUE(v4.ok()) << v4.status().ToString();
  auto ds4 = Dataset::Open(store);
  EXPECT_EQ((*ds4)->manifest().x.gene_index->n_cells, 470u);
  ExpectGenes(**ds4, {0, 199, 5, 77, 77, 120});

  // Out-of-range genes are refused by name.
  Result<CsrMatrix> bad = (*ds4)->ReadGenes(std::vector<uint32_t>{3, 200});
  ASSERT_TRUE(bad.status().IsInvalidArgument()) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("gene id 200"), std::string::npos) << bad.status().message();
  EXPECT_TRUE((*ds4)->ReadGenes(std::vector<uint32_t>{1}, "nope").status().IsNotFound());
}

TEST(GeneIndex, FloatLayerIsBitExact) {
  TempDir dir;
  auto store = Store(dir);
  const CsrMatrix m = testing::Cells(0, 250, 120);
  CsrMatrix f = m;
  f.value_type = ValueType::kFloat32;
  f.counts.clear();
  std::mt19937 rng(3);
  for (uint32_t c : m.counts) {
    const float specials[] = {-0.0f, 1e-40f /* denormal */, -3.25f, 1e30f};
    f.floats.push_back(rng() % 5 == 0 ? specials[rng() % 4] : static_cast<float>(c) * 0.1f);
  }
  {
    auto tx = Transaction::Create(store, 120, ValueType::kUInt32);
    ASSERT_TRUE((*tx)->AppendCells(engine::ViewOf(m)).ok());
    ASSERT_TRUE((*tx)->AppendCells(engine::ViewOf(f), "norm").ok());
    ASSERT_TRUE((*tx)->AppendObs(testing::ObsFor(m, 0)).ok());
    ASSERT_TRUE((*tx)->SetVar(testing::VarFor(120)).ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  EXPECT_TRUE(BuildGeneIndex(store, "missing").status().IsNotFound());
  auto v = BuildGeneIndex(store, "norm", SmallIndexOptions(dir));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto ds = Dataset::Open(store);
  ASSERT_TRUE(ds.ok());
  EXPECT_FALSE((*ds)->manifest().x.gene_index);
  const MatrixEntry& norm = (*ds)->manifest().layers.at("norm");
  ASSERT_TRUE(norm.gene_index);
  for (const GeneSegmentRef& s : norm.gene_index->segments) EXPECT_EQ(s.path.rfind("gene_index/layers/norm/", 0), 0u) << s.path;
  ExpectGenes(**ds, {119, 0, 64, 64}, "norm");
  ExpectGenes(**ds, AllGenes(120), "norm");
  ExpectGenes(**ds, {119, 0, 64}, "");  // X without an index
  EXPECT_TRUE((*ds)->Verify().ok());
}

TEST(GeneIndex, VerifyAndVacuumCoverGeneSegments) {
  TempDir dir;
  auto store = Store(dir);
  testing::CreateDataset(store, testing::Cells(0, 200, 150));
  ASSERT_TRUE(BuildGeneIndex(store, "", SmallIndexOptions(dir)).ok());
  const CsrMatrix more = testing::Cells(200, 50, 150, 11);
  ASSERT_TRUE(testing::AppendCells(store, more, testing::ObsFor(more, 200)).ok());
  ASSERT_TRUE(BuildGeneIndex(store, "", SmallIndexOptions(dir)).ok());  // version 4
  auto v2 = Dataset::Open(store, OpenOptions{2, {}});
  auto v4 = Dataset::Open(store);
  ASSERT_TRUE(v2.ok() && v4.ok());
  const std::vector<GeneSegmentRef> old_index = (*v2)->manifest().x.gene_index->segments;
  const std::vector<GeneSegmentRef> new_index = (*v4)->manifest().x.gene_index->segments;

  // An orphan index file (a build that lost its commit).
  {
    auto f = store->Create("gene_index/X/00000000deadbeef.gseg");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Close().ok());
  }
  auto orphans = Vacuum(store.get(), 1, 0, false);
  ASSERT_TRUE(orphans.ok()) << orphans.status().ToString();
  EXPECT_EQ(orphans->removed, std::vector<std::string>{"gene_index/X/00000000deadbeef.gseg"});
  // Keeping only version 4 drops version 2's index files, not version 4's.
  auto old = Vacuum(store.get(), 4, 0, false);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  for (const GeneSegmentRef& s : old_index) {
    EXPECT_NE(std::find(old->removed.begin(), old->removed.end(), s.path), old->removed.end()) << s.path;
  }
  for (const GeneSegmentRef& s : new_index) {
    EXPECT_EQ(std::find(old->removed.begin(), old->removed.end(), s.path), old->removed.end()) << s.path;
    EXPECT_TRUE(std::filesystem::exists(dir / ("ds.slaf/" + s.path))) << s.path;
  }
  auto ds = Dataset::Open(store);
  ASSERT_TRUE(ds.ok());
  EXPECT_TRUE((*ds)->Verify().ok());
  ExpectGenes(**ds, {1, 149, 70});

  // A flipped byte in an index file: Verify names it, and reading that
  // gene's chunk is refused.
  FlipByte(dir / ("ds.slaf/" + new_index[0].path), 40);
  auto reopened = Dataset::Open(store);
  VerifyReport report = (*reopened)->Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find(new_index[0].path), std::string::npos) << report.problems[0];
  EXPECT_NE(report.problems[0].find("Corruption"), std::string::npos) << report.problems[0];
  EXPECT_TRUE((*reopened)->ReadGenes(std::vector<uint32_t>{0}).status().IsCorruption());
}

TEST(GeneIndex, ConflictWhenAnotherWriterCommitsFirst) {
  TempDir dir;
  auto store = Store(dir);
  testing::CreateDataset(store, testing::Cells(0, 100, 80));
  bool appended = false;
  auto r = BuildGeneIndex(store, "", WriteOptions{}, [&](uint64_t) {
    if (appended) return;
    appended = true;
    const CsrMatrix more = testing::Cells(100, 10, 80, 4);
    ASSERT_TRUE(testing::AppendCells(store, more, testing::ObsFor(more, 100)).ok());
  });
  ASSERT_EQ(r.status().code(), Status::Code::kConflict) << r.status().ToString();
  auto ds = Dataset::Open(store);
  EXPECT_EQ((*ds)->version(), 2u);
  EXPECT_EQ((*ds)->manifest().operation, "append");
  EXPECT_FALSE((*ds)->manifest().x.gene_index);
  // Running it again indexes the newer version.
  auto again = BuildGeneIndex(store);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, 3u);
  ExpectGenes(**Dataset::Open(store), {0, 79, 40});
}

TEST(GeneIndex, EmptyDataset) {
  TempDir dir;
  auto store = Store(dir);
  {
    auto tx = Transaction::Create(store, 30, ValueType::kUInt32);
    ASSERT_TRUE((*tx)->SetVar(testing::VarFor(30)).ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  auto v = BuildGeneIndex(store);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto ds = Dataset::Open(store);
  ASSERT_TRUE((*ds)->manifest().x.gene_index);
  EXPECT_EQ((*ds)->manifest().x.gene_index->n_cells, 0u);
  ExpectGenes(**ds, {0, 29});
  EXPECT_TRUE((*ds)->Verify().ok());
}

// The .gseg files are ordinary segment files (format-spec §1-§6): the
// independent Python reader decodes them to the transposed matrix.
TEST(GeneIndex, ReferenceReaderDecodesGeneSegments) {
  if (std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) GTEST_SKIP() << "no python3 with numpy";
  TempDir dir;
  auto store = Store(dir);
  testing::CreateDataset(store, testing::Cells(0, 300, 100));
  ASSERT_TRUE(BuildGeneIndex(store, "", SmallIndexOptions(dir)).ok());
  auto ds = Dataset::Open(store);
  const Transposed t = Transpose(**ds);
  const GeneIndexEntry& gi = *(*ds)->manifest().x.gene_index;
  for (const GeneSegmentRef& s : gi.segments) {
    const std::string out = dir / "seg.json";
    const std::string cmd = "/usr/bin/python3 " SLAF_SOURCE_DIR "/format-spec/reference/read_seg.py " + dir / ("ds.slaf/" + s.path) +
                            " --json > " + out;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.load(out).get(doc), simdjson::SUCCESS);
    EXPECT_EQ(uint64_t(doc["n_rows"]), s.n_genes);
    EXPECT_EQ(uint64_t(doc["n_cols"]), gi.n_cells);
    EXPECT_EQ(uint64_t(doc["nnz"]), s.nnz);
    std::vector<uint64_t> indptr, indices, values;
    for (auto x : doc["indptr"].get_array()) indptr.push_back(uint64_t(x));
    for (auto x : doc["indices"].get_array()) indices.push_back(uint64_t(x));
    for (auto x : doc["values"].get_array()) values.push_back(uint64_t(x));
    for (uint64_t r = 0; r < s.n_genes; ++r) {
      std::map<uint64_t, uint32_t> row;
      for (uint64_t k = indptr[r]; k < indptr[r + 1]; ++k) row[indices[k]] = static_cast<uint32_t>(values[k]);
      const uint32_t gene = static_cast<uint32_t>(s.first_gene + r);
      auto it = t.find(gene);
      EXPECT_EQ(row, (it == t.end() ? std::map<uint64_t, uint32_t>() : it->second)) << "gene " << gene;
    }
  }
}

}  // namespace
}  // namespace slaf
