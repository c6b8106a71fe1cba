// TripleSorter: an external (spill-to-disk) sort of (row, column, value)
// triples into CSR blocks in row order. Internal to the library: the
// importers use it to turn genes x cells, CSC or unordered MTX input into
// cell-major CSR, and BuildGeneIndex uses it to transpose cell-major X into
// the gene-major copy (format-spec §9.2, gene index).
//
// Memory: entries are buffered until `memory_bytes` is used (24 bytes per
// entry: the entry plus room to sort it). If everything fits, nothing touches
// the disk. Otherwise each full buffer is sorted by row (a stable counting
// sort) and appended as a *run* to one temporary file. Finish then reads the
// rows back in *buckets*: row ranges chosen from the exact per-row counts of
// all entries, so that each bucket fits the budget whatever order the input
// came in (row order, column order or random). A bucket takes from every run
// the contiguous stretch of its rows (runs are row-sorted; a sparse index of
// every 4096th record's row bounds each read), so every entry is written once
// and read once.
//
// Peak memory is about memory_bytes + 8 bytes per output row (per-row
// counts) + two 1 MiB I/O buffers + the caller's block, except that one row
// with more entries than the budget holds is loaded whole (an emitted block
// holds it whole anyway).
//
// Temporary file: one, created with mkstemp in spill_dir and unlinked at
// once, so it never outlives the process, even after a crash; I/O errors
// name it.
//
// Thread safety: a TripleSorter belongs to one thread. After any error it is
// unusable: every later call returns that error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "slaf/segment.h"
#include "slaf/status.h"

namespace slaf::engine {

struct TripleSorterOptions {
  uint64_t n_rows = 0;                          // output rows (e.g. cells); at most 2^40
  uint32_t n_cols = 0;                          // output columns (e.g. genes)
  ValueType value_type = ValueType::kUInt32;    // how emitted blocks hold the values
  uint64_t memory_bytes = 256ull << 20;         // budget for buffered entries
  std::string spill_dir;                        // temporary file's directory; "" = $TMPDIR or /tmp
  std::string what;                             // names the input in errors, e.g. "matrix.mtx.gz"
};

// What a sort did, for tests and progress reports.
struct TripleSorterStats {
  uint64_t entries = 0;             // entries added
  uint64_t runs = 0;                // sorted runs spilled to the temporary file
  uint64_t spilled_bytes = 0;       // bytes written to it
  uint64_t buckets = 0;             // row ranges read back by Finish (0 without spilling)
  uint64_t max_bucket_entries = 0;  // entries of the largest bucket
  uint64_t blocks = 0;              // blocks emitted
  // Largest number of bytes held at once in the entry buffer, the sort
  // arrays and the I/O buffers (not the per-row counts or the caller's block).
  uint64_t peak_bytes = 0;
};

class TripleSorter {
 public:
  // InvalidArgument for n_rows above 2^40. Allocates nothing large yet.
  static Result<std::unique_ptr<TripleSorter>> Make(const TripleSorterOptions& o);
  ~TripleSorter();  // closes the temporary file (already unlinked)
  TripleSorter(const TripleSorter&) = delete;
  TripleSorter& operator=(const TripleSorter&) = delete;

  // Adds n entries in any order; values are the raw 32-bit patterns (uint32
  // count or float32 bits). A row >= n_rows or a column >= n_cols is
  // InvalidArgument naming it and `what`; the whole call is then rejected
  // before any entry of it is added (but the sorter is unusable afterwards).
  Status Add(const uint64_t* rows, const uint32_t* cols, const uint32_t* values, size_t n);

  // After all Adds: calls `emit` with CSR blocks covering rows 0..n_rows-1
  // in order (empty rows included; no call when n_rows is 0), columns
  // strictly increasing within a row, each block about `block_nnz` entries
  // (closed at the first row end at or past block_nnz, or at 2^20 rows; one
  // big row may exceed it). Rows keep the values of their entries; entries of
  // a row that arrived in ascending column order are not re-sorted. A
  // duplicate (row, column) pair is InvalidArgument naming the row, the
  // column and `what`. An error from `emit` stops the sort and is returned.
  // Call once.
  Status Finish(uint64_t block_nnz, const std::function<Status(const CsrMatrix& block)>& emit);

  const TripleSorterStats& stats() const;

 private:
  class Impl;
  explicit TripleSorter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slaf::engine
