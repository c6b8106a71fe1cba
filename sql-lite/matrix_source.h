// Reads the nonzeros an expression scan selected, choosing the cheapest
// engine path for the selection:
//  - a few genes and a gene-major copy (format-spec §9.9): Dataset::ReadGenes
//    reads only those genes' chunks;
//  - per-gene or overall aggregates over all cells, with a gene index that
//    covers every cell: a scan of the gene index decoding values only
//    (the gene is the row; no column ids to decode);
//  - otherwise a chunk scan of the cell range (Dataset::ScanMatrix), where
//    a cell selection skips chunks without selected cells and decodes only
//    the selected cells' blocks, and gene and value selections skip chunks
//    by zone map.
// Both the expression scan operator and the aggregate kernel read through it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "slaf/dataset.h"
#include "sql-lite/plan.h"

namespace slaf::sql {

// One block of selected nonzeros. Cell-major blocks (gene_rows false) hold
// cells as rows: row r is cell first_row + r (unselected cells are empty).
// Gene-major blocks hold genes as rows (row_ids) and cell ids as
// column indices. Entries always satisfy the gene and value selections.
struct SourceBlock {
  CsrMatrix m;
  bool gene_rows = false;
  uint64_t first_row = 0;
  std::vector<uint64_t> row_ids;
  // Non-null when the column indices are the segment's stored ids (spec
  // stored_ids_ok): *stored_to_original maps them (empty = identity).
  const std::vector<uint32_t>* stored_to_original = nullptr;

  uint64_t row_id(uint64_t r) const { return row_ids.empty() ? first_row + r : row_ids[r]; }
};

class MatrixSource {
 public:
  // Reads the part `part` of `parts` of the selection (cell-range or cell-set
  // split, for parallel kernels). `log` receives chunk counts as it goes.
  static Result<std::unique_ptr<MatrixSource>> Open(const Dataset& ds, const ExprScanSpec& spec, int part, int parts,
                                                    ExecContext::ScanLog* log);
  virtual ~MatrixSource() = default;
  virtual Result<bool> Next(SourceBlock* block) = 0;
  // The path chosen, for EXPLAIN: "gene index", "gene index scan" or "chunk scan".
  virtual const char* path() const = 0;
  // Flushes chunk counts into the log.
  virtual void Finish() = 0;
};

// Which path Open would choose.
const char* ChoosePath(const Dataset& ds, const ExprScanSpec& spec);

}  // namespace slaf::sql
