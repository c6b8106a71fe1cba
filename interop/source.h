// What an importer hands the converter: one input file or directory seen as
// a dataset to be — shape, obs/var tables, matrices streamed cell by cell,
// dense per-cell/per-gene matrices, user metadata — plus the list of what
// could not be carried over. Readers (h5ad, 10x HDF5, 10x MTX) fill it;
// convert.cc writes it through a Transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "slaf/dense.h"
#include "slaf/segment.h"
#include "slaf/status.h"
#include "slaf/table.h"

namespace slaf::interop {

// Blocks of consecutive cells, in cell order, from cell 0 on. The sink may
// take the block's contents (by swapping them with a spare matrix); the
// stream Clear()s the block before filling it again.
using RowSink = std::function<Status(CsrMatrix& block)>;

// What happened to the values on the way in.
struct ValueStats {
  bool not_counts = false;     // set when kUInt32 was asked for but a value is not a count
  uint64_t inexact = 0;        // values that float32 cannot hold exactly (rounded)
  uint64_t zeros_dropped = 0;  // explicitly stored zeros (not nonzeros)
  // Set by a stream that found its input out of cell order after handing on
  // rows; it sorts next time, and the converter starts over.
  bool restart_sorted = false;
};

// Status returned by a matrix stream that gave up because a value is not a
// count (ValueStats::not_counts tells it apart); the converter retries with
// float32.
inline Status NotCounts(const std::string& what) { return Status::InvalidArgument(what + ": values are not counts"); }

struct MatrixSource {
  std::string what;   // for messages: "X", "layers/spliced", "raw/X"
  std::string layer;  // "" = X, else the dataset layer it becomes
  // Streams every cell as blocks of `type` values into `sink`, sorting
  // unsorted rows and dropping stored zeros. With kUInt32 it stops at the
  // first value that is not an integer in [0, 2^32) with stats->not_counts.
  std::function<Status(ValueType type, const RowSink& sink, ValueStats* stats)> stream;
  // Whether the first blocks come without reading the whole input (not
  // through the external sort), so that a sample of them is cheap.
  std::function<bool()> cheap_prefix = [] { return true; };
  uint64_t nnz_hint = 0;  // stored entries of the input, 0 if unknown
};

struct Source {
  std::string format;  // "h5ad", "10x-h5 v3", "mtx v2", ...
  uint64_t n_cells = 0;
  uint32_t n_genes = 0;
  Table obs, var;  // each holds its index column (unique names)
  std::string obs_index = "cell_id", var_index = "gene_id";
  std::vector<MatrixSource> matrices;  // X first
  std::map<std::string, DenseMatrix> obsm, varm;
  std::string uns_json = "{}";
  std::vector<std::string> not_carried;  // parts of the input left out, with why
  std::vector<std::string> notes;        // changes on the way in (types widened, ...)
  std::shared_ptr<void> keepalive;       // state the streams use (open files)
  // AnnData's raw when its genes differ from X's: the same cells with their
  // own var and matrix, written as the nested dataset raw/ (format-spec §9.1).
  std::shared_ptr<Source> raw;
};

// Options the readers share.
struct ReadOptions {
  std::string genome;             // 10x HDF5 v2: only this genome ("" = all)
  uint64_t block_nnz = 1u << 20;  // nonzeros per block handed to the sink
  uint64_t memory_bytes = 512ull << 20;  // budget of the external sort
  std::string spill_dir;          // its temporary files
};

// A string column as categorical, categories in first-seen order (for
// columns with few distinct values: feature types, genomes).
Column ToCategorical(const Column& strings);

Result<Source> ReadH5ad(const std::string& path, const ReadOptions& o);
Result<Source> Read10xH5(const std::string& path, const ReadOptions& o);
Result<Source> ReadMtx(const std::string& dir_or_file, const ReadOptions& o);

}  // namespace slaf::interop
