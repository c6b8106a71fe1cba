// Datasets: a directory (or store prefix) of immutable files plus one
// manifest per version (format-spec §9). Dataset opens one version and
// answers metadata, selection, expression and aggregate queries from it;
// the writers in dataset_writer.h add versions.
//
// Thread safety: a Dataset is immutable after Open; its const methods may
// run concurrently. Readers never block writers: they only read immutable
// files and manifests.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "slaf/dense.h"
#include "slaf/manifest.h"
#include "slaf/segment.h"
#include "slaf/status.h"
#include "slaf/store.h"
#include "slaf/table.h"

namespace slaf {

struct OpenOptions {
  // Open this version; unset = the newest.
  std::optional<uint64_t> version;
  // Open the newest version committed at or before this time (ms since the
  // Unix epoch). Ignored when `version` is set.
  std::optional<int64_t> as_of_ms;
};

// One row of `slaf versions`.
struct VersionInfo {
  uint64_t version = 0;
  uint64_t parent = 0;
  int64_t timestamp_ms = 0;
  std::string operation;
  std::string message;
  uint64_t n_cells = 0;
  uint32_t n_genes = 0;
  uint64_t nnz = 0;
};

// Opens a store from a URI: a local path (later http(s):// and s3://).
Result<std::shared_ptr<io::ObjectStore>> OpenStore(const std::string& uri, bool create);

// Versions committed in the store, oldest first.
Result<std::vector<VersionInfo>> ListVersions(io::ObjectStore* store);

// The newest committed version number (0 if none): reads the _latest hint
// and probes forward from it, so no listing is needed (format-spec §9.4).
Result<uint64_t> LatestVersion(io::ObjectStore* store);

// A condition on one obs/var column, or a combination of conditions.
struct Predicate {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kIsNull, kIsNotNull, kAnd, kOr, kNot };
  using Value = std::variant<int64_t, double, bool, std::string>;

  Op op = Op::kEq;
  std::string column;
  std::vector<Value> values;        // one for comparisons, any number for kIn
  std::vector<Predicate> children;  // kAnd, kOr (any number), kNot (one)

  static Predicate Compare(std::string column, Op op, Value v);
  static Predicate In(std::string column, std::vector<Value> values);
  static Predicate IsNull(std::string column, bool null = true);
  static Predicate And(std::vector<Predicate> children);
  static Predicate Or(std::vector<Predicate> children);
  static Predicate Not(Predicate child);
  // Parses a small expression language for the CLI, e.g.
  //   total_counts > 2000 and cell_type in ('B_cell', 'T_cell')
  // Errors name the character position.
  static Result<Predicate> Parse(std::string_view text);
};

// Per-cell or per-gene statistics over a selection, computed in one pass.
// Means and variances count zeros: over all selected cells (per gene) or
// genes (per cell); variance uses n - 1 in the denominator like scanpy's
// sc.pp.highly_variable_genes (0 when n < 2).
struct AxisStats {
  uint64_t n = 0;                 // cells (per gene) or genes (per cell) in the selection
  std::vector<uint64_t> nnz;      // nonzero entries
  std::vector<double> sum;
  std::vector<double> sum_sq;
  double mean(size_t i) const { return n ? sum[i] / static_cast<double>(n) : 0.0; }
  double variance(size_t i) const;
};

// Streams the expression of a cell selection in blocks of whole cells.
class CellBlockIterator {
 public:
  virtual ~CellBlockIterator() = default;
  // Next block (at most block_cells cells) as CSR with original gene ids, or
  // false at the end. (*cells)[i] is the dataset cell id of block row i.
  virtual Result<bool> Next(CsrMatrix* block, std::vector<uint64_t>* cells) = 0;
};

// Streams the nonzeros of a cell range of one matrix, chunk by chunk, with
// the pushdown of ScanOptions (gene selection, value range, projection).
class MatrixScanner {
 public:
  virtual ~MatrixScanner() = default;
  // Next block of whole cells as CSR with original gene ids; *first_cell is
  // the dataset cell id of block row 0. Rows of chunks that a gene or value
  // selection skips are not returned; rows of chunks read may be empty.
  virtual Result<bool> Next(CsrMatrix* block, uint64_t* first_cell) = 0;
  // With ScanOptions::original_ids false: the stored-to-original gene map of
  // the segment the last block came from (empty = identity).
  virtual const std::vector<uint32_t>& stored_to_original() const = 0;
  // Summed over the segments scanned so far.
  virtual ScanStats stats() const = 0;
};

// Totals of one matrix from its chunk directories alone (no data read).
struct MatrixTotals {
  uint64_t nnz = 0;
  uint64_t chunks = 0;
  double sum = 0;
  double min = 0, max = 0;  // over the nonzeros; 0 when nnz == 0
  // Dataset cell id of each chunk's first row, ascending: where parallel
  // scans split a cell range without sharing a chunk.
  std::vector<uint64_t> chunk_first_cell;
};

// Integrity report of `slaf verify`.
struct VerifyReport {
  uint64_t files_checked = 0;
  uint64_t bytes_checked = 0;
  std::vector<std::string> problems;  // one line per damaged or missing file
  bool ok() const { return problems.empty(); }
};

class Dataset {
 public:
  static Result<std::unique_ptr<Dataset>> Open(const std::string& uri, const OpenOptions& options = {});
  static Result<std::unique_ptr<Dataset>> Open(std::shared_ptr<io::ObjectStore> store, const OpenOptions& options = {});
  virtual ~Dataset() = default;

  virtual const Manifest& manifest() const = 0;
  virtual io::ObjectStore* store() const = 0;
  uint64_t version() const { return manifest().version; }
  uint64_t n_cells() const { return manifest().n_cells; }
  uint32_t n_genes() const { return manifest().n_genes; }
  ValueType value_type() const { return manifest().x.value_type; }
  uint64_t nnz() const { return manifest().x.nnz(); }

  // ---- metadata ----
  // obs / var with the named columns (all when empty), in schema order.
  virtual Result<Table> obs(std::span<const std::string> columns = {}) const = 0;
  virtual Result<Table> var(std::span<const std::string> columns = {}) const = 0;

  // ---- selections: sorted, distinct ids ----
  virtual Result<std::vector<uint64_t>> cells(const Predicate& p) const = 0;
  // Cells by obs index name (cell_id), in the order given; NotFound names
  // the first missing id.
  virtual Result<std::vector<uint64_t>> cells_by_name(std::span<const std::string> names) const = 0;
  virtual Result<std::vector<uint32_t>> genes(const Predicate& p) const = 0;
  virtual Result<std::vector<uint32_t>> genes_by_name(std::span<const std::string> names) const = 0;

  // ---- expression ("" = X, else a layer name) ----
  // Cells [begin, end) as CSR.
  virtual Status ReadCellRange(uint64_t begin, uint64_t end, CsrMatrix* out, const std::string& layer = "") const = 0;
  // Rows `cells` (any order, repeats allowed) × columns `genes` (empty =
  // all genes, in id order; else out column j is genes[j]).
  virtual Status ReadCells(std::span<const uint64_t> cells, std::span<const uint32_t> genes, CsrMatrix* out,
                           const std::string& layer = "") const = 0;
  // Genes x all cells: out row i is gene genes[i] (any order, repeats
  // allowed), out columns are cell ids 0 .. n_cells - 1. Where the matrix has
  // a gene index (format-spec §9.9) its cells come from there, reading only
  // the chunks that hold these genes; cells appended after the index was
  // built (all cells, without an index) come from a scan of the cell-major
  // segments. InvalidArgument for a gene id >= n_genes, naming it, and
  // NotSupported above 2^32 - 1 cells (the column limit of CsrMatrix).
  virtual Result<CsrMatrix> ReadGenes(std::span<const uint32_t> genes, const std::string& layer = "") const = 0;
  // Streams the given cells (empty = all, sorted ids otherwise).
  virtual Result<std::unique_ptr<CellBlockIterator>> IterateCells(std::vector<uint64_t> cells, uint32_t block_cells,
                                                                  const std::string& layer = "") const = 0;

  // Scans cells [options.row_begin, options.row_end) (dataset cell ids,
  // clamped to n_cells) of a matrix across its segments.
  virtual Result<std::unique_ptr<MatrixScanner>> ScanMatrix(const ScanOptions& options,
                                                            const std::string& layer = "") const = 0;
  // Scans the gene index (format-spec §9.9) of a matrix: rows are genes
  // [row_begin, row_end), column ids are cells [0, index n_cells); NotFound
  // without an index. Cells appended after the index was built are not in it.
  virtual Result<std::unique_ptr<MatrixScanner>> ScanGeneIndex(const ScanOptions& options,
                                                               const std::string& layer = "") const = 0;
  virtual Result<MatrixTotals> Totals(const std::string& layer = "") const = 0;

  // ---- aggregates, one pass over the selected cells (empty = all) ----
  virtual Result<AxisStats> GeneStats(std::span<const uint64_t> cells = {}, const std::string& layer = "") const = 0;
  virtual Result<AxisStats> CellStats(std::span<const uint64_t> cells = {}, const std::string& layer = "") const = 0;

  // ---- dense matrices ----
  virtual Result<DenseMatrix> obsm(const std::string& name) const = 0;
  virtual Result<DenseMatrix> varm(const std::string& name) const = 0;

  // Reads every file of this version whole: size and xxh3 against the
  // manifest, then each file's own checks (chunk checksums, decoding, zone
  // maps). `progress(done_bytes, total_bytes)` may be empty.
  virtual VerifyReport Verify(const std::function<void(uint64_t, uint64_t)>& progress = {}) const = 0;

  // Bytes on disk of the files of this version.
  uint64_t bytes_on_disk() const;
};

}  // namespace slaf
