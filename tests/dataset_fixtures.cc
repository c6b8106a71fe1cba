#include "tests/dataset_fixtures.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include "engine/csr_util.h"

namespace slaf::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "slaf-test-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  if (!p) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CsrMatrix Cells(uint64_t first, uint64_t n, uint32_t n_genes, uint64_t seed) {
  SyntheticMatrix gen({first + n, n_genes, 0.08, seed});
  CsrMatrix m;
  gen.GenerateRows(first, first + n, &m);
  return m;
}

Table ObsFor(const CsrMatrix& m, uint64_t first, const std::string& extra_type) {
  Table t;
  t.n_rows = m.n_rows;
  std::vector<std::string> ids;
  std::vector<uint32_t> type_codes, batch_codes;
  std::vector<int64_t> totals, ngenes;
  std::vector<double> pct;
  std::vector<uint8_t> pct_valid, flag;
  std::vector<std::string> types = {"T_cell", "B_cell", "NK", "Mono"};
  if (!extra_type.empty()) types.push_back(extra_type);
  for (uint64_t r = 0; r < m.n_rows; ++r) {
    const uint64_t id = first + r;
    ids.push_back("cell_" + std::to_string(id));
    type_codes.push_back(extra_type.empty() ? static_cast<uint32_t>(id % 4) : static_cast<uint32_t>(id % 5));
    batch_codes.push_back(static_cast<uint32_t>(id % 3));
    int64_t total = 0;
    for (uint64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) total += m.counts[k];
    totals.push_back(total);
    ngenes.push_back(static_cast<int64_t>(m.indptr[r + 1] - m.indptr[r]));
    pct.push_back(id % 7 == 0 ? 0.0 : static_cast<double>(id % 100) / 3.0);
    pct_valid.push_back(id % 7 == 0 ? 0 : 1);
    flag.push_back(id % 2);
  }
  t.columns.push_back(Column::String("cell_id", ids));
  t.columns.push_back(Column::Categorical("cell_type", type_codes, types));
  t.columns.push_back(Column::Categorical("batch", batch_codes, {"b2", "b0", "b1"}));
  t.columns.push_back(Column::Int64("total_counts", totals));
  t.columns.push_back(Column::Int64("n_genes", ngenes));
  Column p = Column::Float64("pct", pct);
  p.valid = pct_valid;
  t.columns.push_back(p);
  t.columns.push_back(Column::Bool("flag", flag));
  return t;
}

Table VarFor(uint32_t n_genes) {
  Table t;
  t.n_rows = n_genes;
  std::vector<std::string> ids;
  std::vector<uint8_t> hv;
  std::vector<double> mean;
  for (uint32_t g = 0; g < n_genes; ++g) {
    ids.push_back("G" + std::to_string(g));
    hv.push_back(g % 5 == 0);
    mean.push_back(g * 0.25);
  }
  t.columns.push_back(Column::String("gene_id", ids));
  t.columns.push_back(Column::Bool("highly_variable", hv));
  t.columns.push_back(Column::Float64("mean", mean));
  return t;
}

uint64_t CreateDataset(std::shared_ptr<io::ObjectStore> store, const CsrMatrix& m, WriteOptions opts) {
  auto tx = Transaction::Create(store, m.n_cols, m.value_type, opts);
  EXPECT_TRUE(tx.ok()) << tx.status().ToString();
  EXPECT_TRUE((*tx)->AppendCells(engine::ViewOf(m)).ok());
  EXPECT_TRUE((*tx)->AppendObs(ObsFor(m, 0)).ok());
  EXPECT_TRUE((*tx)->SetVar(VarFor(m.n_cols)).ok());
  auto v = (*tx)->Commit();
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : 0;
}

Result<uint64_t> AppendCells(std::shared_ptr<io::ObjectStore> store, const CsrMatrix& m, const Table& obs, WriteOptions opts) {
  SLAF_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> tx, Transaction::Update(store, opts));
  SLAF_RETURN_IF_ERROR(tx->AppendCells(engine::ViewOf(m)));
  SLAF_RETURN_IF_ERROR(tx->AppendObs(obs));
  return tx->Commit();
}

std::vector<double> Dense(const CsrMatrix& m) {
  std::vector<double> d(m.n_rows * m.n_cols, 0.0);
  for (uint64_t r = 0; r < m.n_rows; ++r) {
    for (uint64_t k = m.indptr[r]; k < m.indptr[r + 1]; ++k) d[r * m.n_cols + m.indices[k]] = m.value(k);
  }
  return d;
}

bool SameCsr(const CsrMatrix& a, const CsrMatrix& b) {
  return a.n_rows == b.n_rows && a.n_cols == b.n_cols && a.value_type == b.value_type && a.indptr == b.indptr &&
         a.indices == b.indices && a.counts == b.counts && a.floats == b.floats;
}

CsrMatrix Stack(const CsrMatrix& a, const CsrMatrix& b) {
  CsrMatrix out = a;
  engine::AppendCsr(b, &out);
  return out;
}

}  // namespace slaf::testing
