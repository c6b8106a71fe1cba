// The SQL engine against oracles computed here from the CSR matrix and obs
// table the dataset was written from (the SQLite differential test,
// tests/sql_diff_test.py, covers the language at large). These tests pin
// what SQLite cannot see: every read path (chunk scan, row-selective scan,
// gene index, values-only gene index scan, chunk directories) and thread
// count gives the same answer, layers and float matrices, time travel,
// EXPLAIN's pushdown and chunk counts, and error positions.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "engine/csr_util.h"
#include "slaf/dataset.h"
#include "slaf/dataset_writer.h"
#include "slaf/sql.h"
#include "tests/dataset_fixtures.h"

namespace slaf {
namespace {

using testing::TempDir;

constexpr uint32_t kGenes = 90;

struct Fixture {
  TempDir dir;
  std::shared_ptr<io::ObjectStore> store;
  CsrMatrix m;     // X: counts
  CsrMatrix f;     // layer "norm": floats
  Table obs;
};

// 700 cells in small chunks (so zone maps and row selections matter), a
// float layer, genes stored by frequency.
std::unique_ptr<Fixture> Make(bool gene_index) {
  auto fx = std::make_unique<Fixture>();
  auto s = io::OpenLocalStore(fx->dir / "ds.slaf", /*create=*/true);
  EXPECT_TRUE(s.ok());
  fx->store = *s;
  fx->m = testing::Cells(0, 700, kGenes, 11);
  fx->f = fx->m;
  fx->f.value_type = ValueType::kFloat32;
  fx->f.counts.clear();
  for (uint32_t c : fx->m.counts) fx->f.floats.push_back(std::log1p(static_cast<float>(c)) * 0.5f);
  fx->obs = testing::ObsFor(fx->m, 0);
  WriteOptions o;
  o.segment.target_chunk_bytes = 512;
  o.segment.min_chunk_rows = 4;
  auto tx = Transaction::Create(fx->store, kGenes, ValueType::kUInt32, o);
  EXPECT_TRUE(tx.ok());
  EXPECT_TRUE((*tx)->AppendCells(engine::ViewOf(fx->m)).ok());
  EXPECT_TRUE((*tx)->AppendCells(engine::ViewOf(fx->f), "norm").ok());
  EXPECT_TRUE((*tx)->AppendObs(fx->obs).ok());
  EXPECT_TRUE((*tx)->SetVar(testing::VarFor(kGenes)).ok());
  EXPECT_TRUE((*tx)->Commit().ok());
  if (gene_index) {
    WriteOptions gi;
    gi.spill_dir = fx->dir.path();
    gi.gene_index_nnz_per_segment = 3000;  // several gene-index segments
    EXPECT_TRUE(BuildGeneIndex(fx->store, "", gi).ok());
  }
  return fx;
}

sql::QueryResult Query(const Dataset& ds, const std::string& q, int threads = 2) {
  sql::QueryOptions o;
  o.threads = threads;
  o.explain = true;
  auto r = sql::Execute(ds, q, o);
  EXPECT_TRUE(r.ok()) << q << "\n" << r.status().ToString();
  return r.ok() ? std::move(*r) : sql::QueryResult{};
}

double Num(const Column& c, uint64_t r) {
  return c.type == ColumnType::kFloat64 ? c.doubles[r] : static_cast<double>(c.ints[r]);
}

struct GeneAgg {
  int64_t n = 0;
  double sum = 0, mn = INFINITY, mx = -INFINITY;
};

// Per gene over the cells where keep(cell) holds.
template <typename Keep>
std::map<int64_t, GeneAgg> PerGene(const CsrMatrix& m, Keep keep) {
  std::map<int64_t, GeneAgg> out;
  for (uint64_t r = 0; r < m.n_rows; ++r) {
    if (!keep(r)) continue;
    for (uint64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) {
      GeneAgg& a = out[m.indices[k]];
      const double v = m.value(k);
      ++a.n;
      a.sum += v;
      a.mn = std::min(a.mn, v);
      a.mx = std::max(a.mx, v);
    }
  }
  return out;
}

void ExpectPerGene(const sql::QueryResult& r, const std::map<int64_t, GeneAgg>& want, const std::string& what) {
  ASSERT_EQ(r.table.n_rows, want.size()) << what;
  for (uint64_t i = 0; i < r.table.n_rows; ++i) {
    const int64_t g = r.table.columns[0].ints[i];
    ASSERT_TRUE(want.count(g)) << what << ": gene " << g;
    const GeneAgg& a = want.at(g);
    EXPECT_EQ(r.table.columns[1].ints[i], a.n) << what << ": gene " << g;
    EXPECT_NEAR(Num(r.table.columns[2], i), a.sum, 1e-9 * std::fabs(a.sum)) << what << ": gene " << g;
    EXPECT_EQ(Num(r.table.columns[3], i), a.mn) << what;
    EXPECT_EQ(Num(r.table.columns[4], i), a.mx) << what;
  }
}

TEST(Sql, PerGeneAggregatesOnEveryPathAndThreadCount) {
  for (bool index : {false, true}) {
    auto fx = Make(index);
    auto ds = Dataset::Open(fx->store);
    ASSERT_TRUE(ds.ok());
    const auto all = PerGene(fx->m, [](uint64_t) { return true; });
    for (int threads : {1, 2}) {
      const std::string what = std::string(index ? "index" : "no index") + ", threads " + std::to_string(threads);
      auto r = Query(**ds, "SELECT gene_integer_id, COUNT(*), SUM(value), MIN(value), MAX(value) FROM expression GROUP BY 1", threads);
      ExpectPerGene(r, all, what);
      EXPECT_NE(r.plan.find(index ? "via gene index scan" : "via chunk scan"), std::string::npos) << r.plan;
      // MAX alone: the kernel keeps no sums.
      auto mx = Query(**ds, "SELECT gene_integer_id, MAX(value) FROM expression GROUP BY 1", threads);
      ASSERT_EQ(mx.table.n_rows, all.size());
      for (uint64_t i = 0; i < mx.table.n_rows; ++i) EXPECT_EQ(Num(mx.table.columns[1], i), all.at(mx.table.columns[0].ints[i]).mx);
      // The float layer, through the layer table.
      auto lf = Query(**ds, "SELECT gene_integer_id, COUNT(*), SUM(value), MIN(value), MAX(value) FROM layer_norm GROUP BY 1", threads);
      ExpectPerGene(lf, PerGene(fx->f, [](uint64_t) { return true; }), what + ", layer\n" + lf.plan);
      EXPECT_EQ(lf.table.columns[2].type, ColumnType::kFloat64);
    }
  }
}

TEST(Sql, CellFilterJoinReadsOnlySelectedCells) {
  auto fx = Make(/*gene_index=*/true);
  auto ds = Dataset::Open(fx->store);
  ASSERT_TRUE(ds.ok());
  const Column* type = fx->obs.Find("cell_type");
  ASSERT_NE(type, nullptr);
  const std::string t0(type->str(0));
  auto want = PerGene(fx->m, [&](uint64_t r) { return type->str(r) == t0; });
  for (int threads : {1, 2}) {
    auto r = Query(**ds,
                 "SELECT e.gene_integer_id, COUNT(*), SUM(e.value), MIN(e.value), MAX(e.value) FROM cells c JOIN expression e "
                 "ON c.cell_integer_id = e.cell_integer_id WHERE c.cell_type = '" + t0 + "' GROUP BY e.gene_integer_id",
                 threads);
    ExpectPerGene(r, want, "join, threads " + std::to_string(threads));
    EXPECT_NE(r.plan.find("cells from cells AS c WHERE c.cell_type"), std::string::npos) << r.plan;
    // Entries decoded: only the selected cells' (plus block rounding), not all.
    EXPECT_LT(r.stats.entries_scanned, fx->m.nnz());
  }
  // The same rows, not aggregated: the join's ids restrict the scan.
  auto rows = Query(**ds, "SELECT e.cell_integer_id, e.gene_integer_id, e.value FROM expression e JOIN cells c ON "
                        "e.cell_integer_id = c.cell_integer_id WHERE c.cell_type = '" + t0 + "'");
  uint64_t n = 0;
  for (const auto& [g, a] : want) n += static_cast<uint64_t>(a.n);
  EXPECT_EQ(rows.table.n_rows, n);
  EXPECT_NE(rows.plan.find("from the join's build side"), std::string::npos) << rows.plan;
}

TEST(Sql, OneCellAndOneGeneMatchTheMatrix) {
  auto fx = Make(/*gene_index=*/true);
  auto ds = Dataset::Open(fx->store);
  ASSERT_TRUE(ds.ok());
  const uint64_t cell = 321;
  auto r = Query(**ds, "SELECT gene_integer_id, value FROM expression WHERE cell_integer_id = 321 ORDER BY 1");
  ASSERT_EQ(r.table.n_rows, fx->m.indptr[cell + 1] - fx->m.indptr[cell]);
  for (uint64_t i = 0; i < r.table.n_rows; ++i) {
    EXPECT_EQ(r.table.columns[0].ints[i], fx->m.indices[fx->m.indptr[cell] + i]);
    EXPECT_EQ(r.table.columns[1].ints[i], fx->m.counts[fx->m.indptr[cell] + i]);
  }
  EXPECT_NE(r.plan.find("skipped"), std::string::npos);
  const uint32_t gene = 17;
  std::map<int64_t, int64_t> want;
  for (uint64_t c = 0; c < fx->m.n_rows; ++c) {
    for (uint64_t k = fx->m.indptr[c]; k < fx->m.indptr[c + 1]; ++k) {
      if (fx->m.indices[k] == gene) want[static_cast<int64_t>(c)] = fx->m.counts[k];
    }
  }
  auto g = Query(**ds, "SELECT cell_integer_id, value FROM expression WHERE gene_integer_id = 17");
  ASSERT_EQ(g.table.n_rows, want.size());
  for (uint64_t i = 0; i < g.table.n_rows; ++i) EXPECT_EQ(want.at(g.table.columns[0].ints[i]), g.table.columns[1].ints[i]);
  EXPECT_NE(g.plan.find("via gene index"), std::string::npos) << g.plan;
}

TEST(Sql, ZoneMapsSkipChunksAndTotalsComeFromDirectories) {
  auto fx = Make(/*gene_index=*/false);
  auto ds = Dataset::Open(fx->store);
  ASSERT_TRUE(ds.ok());
  double sum = 0, mx = 0;
  for (uint64_t k = 0; k < fx->m.nnz(); ++k) {
    sum += fx->m.counts[k];
    mx = std::max<double>(mx, fx->m.counts[k]);
  }
  auto t = Query(**ds, "SELECT COUNT(*), SUM(value), MAX(value) FROM expression");
  EXPECT_EQ(t.table.columns[0].ints[0], static_cast<int64_t>(fx->m.nnz()));
  EXPECT_EQ(t.table.columns[1].ints[0], static_cast<int64_t>(sum));
  EXPECT_EQ(t.table.columns[2].ints[0], static_cast<int64_t>(mx));
  EXPECT_NE(t.plan.find("chunk directories (no data read)"), std::string::npos) << t.plan;
  EXPECT_EQ(t.stats.entries_scanned, 0u);
  // No chunk can hold a value above the maximum: all skipped, none read.
  auto none = Query(**ds, "SELECT COUNT(*) FROM expression WHERE value > " + std::to_string(static_cast<int64_t>(mx)));
  EXPECT_EQ(none.table.columns[0].ints[0], 0);
  EXPECT_EQ(none.stats.chunks_read, 0u);
  EXPECT_GT(none.stats.chunks_skipped, 0u);
  // A cell range reads only its chunks.
  auto few = Query(**ds, "SELECT COUNT(*) FROM expression WHERE cell_integer_id BETWEEN 100 AND 110");
  EXPECT_EQ(few.table.columns[0].ints[0], static_cast<int64_t>(fx->m.indptr[111] - fx->m.indptr[100]));
  EXPECT_LT(few.stats.chunks_read, few.stats.chunks_total / 4);
}

TEST(Sql, OpensTheRequestedVersion) {
  auto fx = Make(/*gene_index=*/false);
  const CsrMatrix more = testing::Cells(700, 50, kGenes, 12);
  CsrMatrix more_f = more;
  more_f.value_type = ValueType::kFloat32;
  more_f.counts.clear();
  for (uint32_t c : more.counts) more_f.floats.push_back(static_cast<float>(c));
  {
    auto tx = Transaction::Update(fx->store);
    ASSERT_TRUE(tx.ok()) << tx.status().ToString();
    ASSERT_TRUE((*tx)->AppendCells(engine::ViewOf(more)).ok());
    ASSERT_TRUE((*tx)->AppendCells(engine::ViewOf(more_f), "norm").ok());
    ASSERT_TRUE((*tx)->AppendObs(testing::ObsFor(more, 700)).ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  OpenOptions v1;
  v1.version = 1;
  auto old_ds = Dataset::Open(fx->store, v1);
  auto new_ds = Dataset::Open(fx->store);
  ASSERT_TRUE(old_ds.ok() && new_ds.ok());
  const std::string q = "SELECT COUNT(*), (SELECT 1) FROM cells";
  EXPECT_FALSE(sql::Execute(**new_ds, q).ok());  // scalar subqueries: a clear error
  auto a = Query(**old_ds, "SELECT COUNT(*) FROM cells");
  auto b = Query(**new_ds, "SELECT COUNT(*) FROM cells");
  EXPECT_EQ(a.table.columns[0].ints[0], 700);
  EXPECT_EQ(b.table.columns[0].ints[0], 750);
  auto e = Query(**new_ds, "SELECT COUNT(*) FROM expression WHERE cell_integer_id >= 700");
  EXPECT_EQ(e.table.columns[0].ints[0], static_cast<int64_t>(more.nnz()));
}

TEST(Sql, ErrorsNameThePositionAndSuggest) {
  auto fx = Make(/*gene_index=*/false);
  auto ds = Dataset::Open(fx->store);
  ASSERT_TRUE(ds.ok());
  struct Case {
    const char* sql;
    const char* want;
  } cases[] = {
      {"SELECT cel_type FROM cells", "SQL error at 1:8: unknown column 'cel_type'; did you mean 'cell_type'?"},
      {"SELECT *\nFROM expresion", "SQL error at 2:6: unknown table 'expresion'; did you mean 'expression'?"},
      {"SELECT cell_type + 1 FROM cells", "SQL error at 1:18: operator + expects numbers, got VARCHAR and BIGINT"},
      {"SELECT cell_integer_id FROM expression e JOIN cells c ON e.cell_integer_id = c.cell_integer_id", "is ambiguous"},
      {"SELECT cell_type, COUNT(*) FROM cells", "must appear in the GROUP BY clause"},
      {"SELECT SUMM(value) FROM expression", "unknown function SUMM; did you mean 'SUM'?"},
      {"SELECT * FROM cells WHERE SUM(total_counts) > 1", "aggregate functions are not allowed in WHERE"},
      {"SELECT * FROM cells LIMIT -1", "LIMIT"},
      {"SELECT cell_type FROM cells UNION ALL SELECT total_counts FROM cells", "UNION ALL column 1 has types VARCHAR and BIGINT"},
  };
  for (const Case& c : cases) {
    auto r = sql::Execute(**ds, c.sql);
    ASSERT_FALSE(r.ok()) << c.sql;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << c.sql;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << c.sql << "\n -> " << r.status().message();
    EXPECT_NE(r.status().message().find("SQL error at "), std::string::npos) << c.sql;
  }
}

}  // namespace
}  // namespace slaf
