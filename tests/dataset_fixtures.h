// Shared builders for the dataset tests: synthetic matrices with matching
// obs/var tables, dense oracles, temporary dataset directories.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "slaf/dataset.h"
#include "slaf/dataset_writer.h"
#include "slaf/synthetic.h"

namespace slaf::testing {

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Cells [first, first + n) of a synthetic matrix with n_genes genes.
CsrMatrix Cells(uint64_t first, uint64_t n, uint32_t n_genes, uint64_t seed = 5);

// obs for cells [first, first + m.n_rows): cell_id, cell_type (categorical,
// unsorted categories), batch (categorical), total_counts (int64 from m),
// n_genes (int64), pct (float64 with a null every 7th row), flag (bool).
// `extra_type` adds a cell type name that only these rows use.
Table ObsFor(const CsrMatrix& m, uint64_t first, const std::string& extra_type = "");

// var: gene_id "G<k>", highly_variable (bool), mean (float64).
Table VarFor(uint32_t n_genes);

// Writes a new dataset of `m` with its obs/var into `store`; returns version.
uint64_t CreateDataset(std::shared_ptr<io::ObjectStore> store, const CsrMatrix& m, WriteOptions opts = {});

// Appends rows and obs; returns the committed version.
Result<uint64_t> AppendCells(std::shared_ptr<io::ObjectStore> store, const CsrMatrix& m, const Table& obs,
                             WriteOptions opts = {});

// Row-major dense copy of a CSR matrix (values as double).
std::vector<double> Dense(const CsrMatrix& m);

// Exact equality of two CSR matrices (shape, structure, values).
bool SameCsr(const CsrMatrix& a, const CsrMatrix& b);

// Stacks b under a.
CsrMatrix Stack(const CsrMatrix& a, const CsrMatrix& b);

}  // namespace slaf::testing
