// Writing datasets: every change is a transaction that writes new files
// under unique names and then commits the next version's manifest with
// create-if-absent (format-spec §9.4). Nothing is rewritten, so every older
// version keeps reading the same bytes.
//
// A transaction belongs to one thread. Several processes may write the same
// dataset: of two transactions based on the same version one commits and
// the other gets Conflict (or, for pure appends with max_attempts > 1,
// rebases onto the newer version and retries).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "slaf/dataset.h"
#include "slaf/dense.h"
#include "slaf/segment.h"
#include "slaf/table.h"

namespace slaf {

// Segment options of datasets: 16 KiB chunks of at least 24 cells (see
// SegmentWriterOptions::min_chunk_rows).
inline SegmentWriterOptions DatasetSegmentDefaults() {
  SegmentWriterOptions o;
  o.min_chunk_rows = 24;
  return o;
}

struct WriteOptions {
  // Chunk size, codec, etc. of new segments; n_cols and value_type are set
  // by the transaction.
  SegmentWriterOptions segment = DatasetSegmentDefaults();
  // A new segment file starts after this many cells.
  uint64_t cells_per_segment = 1ull << 20;
  TableWriterOptions table;
  DenseWriterOptions dense;
  // Commit attempts. Above 1, a transaction that only appends cells rebases
  // onto a newer version after a Conflict, with jittered backoff.
  int max_attempts = 1;
  std::string message;                  // stored in the manifest
  std::optional<int64_t> timestamp_ms;  // default: now
  // BuildGeneIndex: the memory budget of its external sort, the directory
  // of the sort's temporary file ("" = $TMPDIR or /tmp) and the entries per
  // gene-index segment file.
  uint64_t sort_memory_bytes = 256ull << 20;
  std::string spill_dir;
  uint64_t gene_index_nnz_per_segment = 1ull << 28;
};

enum class Axis { kObs, kVar };

class Transaction {
 public:
  // A new dataset in an empty store (Conflict if it has a version already).
  static Result<std::unique_ptr<Transaction>> Create(std::shared_ptr<io::ObjectStore> store, uint32_t n_genes,
                                                     ValueType value_type, WriteOptions options = {});
  // A change to the newest version of an existing dataset.
  static Result<std::unique_ptr<Transaction>> Update(std::shared_ptr<io::ObjectStore> store,
                                                     WriteOptions options = {});
  virtual ~Transaction() = default;

  // The version this transaction builds on (0 for Create).
  virtual const Manifest& base() const = 0;

  // Appends cells to X (layer "") or to a layer. In Create these are all
  // cells; in Update they are new cells after the base's last cell, and
  // every existing layer must receive the same number of new cells.
  // Genes are column ids < n_genes. A layer first seen in Create is created.
  virtual Status AppendCells(const CsrRowsView& rows, const std::string& layer = "") = 0;

  // Metadata rows of the appended cells (or of all cells in Create): the
  // same column names and types as the base's obs. Several calls append.
  virtual Status AppendObs(const Table& rows) = 0;
  // Var of a new dataset (Create only).
  virtual Status SetVar(const Table& var) = 0;
  // Sets the obs/var index column name (default "cell_id" / "gene_id").
  virtual Status SetIndexColumn(Axis axis, const std::string& name) = 0;

  // Adds or replaces one column over all rows of the base (Update) or of
  // the new dataset (Create: after AppendObs/SetVar).
  virtual Status SetColumn(Axis axis, const Column& column) = 0;
  // A new layer for every cell of the base, from an in-memory matrix.
  virtual Status AddLayer(const std::string& name, const CsrMatrix& m) = 0;
  virtual Status SetDense(Axis axis, const std::string& name, const DenseMatrix& m) = 0;
  // Replaces the user metadata (a JSON object).
  virtual Status SetUns(const std::string& json_object) = 0;

  // Writes the remaining files, then the manifest. Returns the committed
  // version. The transaction cannot be used afterwards, whatever the result.
  virtual Result<uint64_t> Commit() = 0;
};

// Builds the gene-major copy of X (layer "") or of a layer over all cells of
// the newest version (the "gene index", format-spec §9.9) and commits it as
// the next version, operation "gene_index". Gene queries
// (Dataset::ReadGenes) then read only the chunks of the genes asked for.
// The cells are streamed once through an external sort bounded by
// options.sort_memory_bytes (spilling to options.spill_dir), so memory does
// not grow with the dataset. Returns the committed version, or the newest
// version unchanged when its index already covers every cell. Conflict if
// another writer commits first (nothing changes; run it again); NotFound for
// an unknown layer; NotSupported above 2^31 cells (a segment's column limit,
// §2.6) or for a gene with more than 2^26 nonzeros (a chunk's limit).
// `progress(cells_done)` may be empty; it is called after each block read.
Result<uint64_t> BuildGeneIndex(std::shared_ptr<io::ObjectStore> store, const std::string& layer = "",
                                WriteOptions options = {}, std::function<void(uint64_t cells_done)> progress = {});

// Removes files that no version at or after `keep_from_version` references
// and that are older than `min_age_ms`, plus leftover temporary files.
// With dry_run, only lists them. Returns the keys removed (or to remove).
struct VacuumResult {
  std::vector<std::string> removed;
  uint64_t bytes = 0;
};
Result<VacuumResult> Vacuum(io::ObjectStore* store, uint64_t keep_from_version, int64_t min_age_ms, bool dry_run);

// Copies every version of the dataset in `from` (including nested datasets
// such as raw/) into the empty store `to`, in commit-protocol order: data
// files first, then manifests oldest first with create-if-absent, then the
// _latest hints, so a reader of `to` never sees a manifest whose files are
// missing. Conflict if `to` already holds a manifest. `progress(bytes_done,
// bytes_total)` may be empty. Returns the bytes copied.
Result<uint64_t> CopyDataset(io::ObjectStore* from, io::ObjectStore* to,
                             const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace slaf
