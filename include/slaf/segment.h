// Expression segment files (.seg): write CSR rows, read cells, cell ranges,
// submatrices and streaming scans. The byte layout is format-spec §2 and §4;
// this header is the C++ contract over it.
//
// Thread safety: a SegmentReader is immutable after Open; its const methods
// may run concurrently from several threads, each with its own output. A
// SegmentScanner and a SegmentWriter belong to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "slaf/status.h"

namespace slaf {

namespace io {
class RandomAccessFile;
class WritableFile;
}  // namespace io

// Value type of a matrix (format-spec §4.1, footer field value_type).
enum class ValueType : uint8_t { kUInt32 = 1, kFloat32 = 2 };

// A compressed-sparse-row matrix held in memory. Rows are cells, columns are
// genes. Column indices within a row are strictly increasing. Exactly one of
// `counts` (kUInt32) or `floats` (kFloat32) holds the values.
struct CsrMatrix {
  uint64_t n_rows = 0;
  uint32_t n_cols = 0;
  ValueType value_type = ValueType::kUInt32;
  std::vector<uint64_t> indptr{0};  // n_rows + 1 entries, indptr[0] == 0
  std::vector<uint32_t> indices;
  std::vector<uint32_t> counts;
  std::vector<float> floats;

  uint64_t nnz() const { return indices.size(); }
  // Both arms are cast: a bare `cond ? u32 : float` is a float and rounds
  // counts above 2^24.
  double value(size_t k) const {
    return value_type == ValueType::kUInt32 ? static_cast<double>(counts[k]) : static_cast<double>(floats[k]);
  }
  void Clear(uint32_t cols, ValueType type);
};

// Borrowed CSR rows given to the writer. indptr has n_rows + 1 entries whose
// values index `indices` and the value array directly; a view of rows in
// the middle of a larger CSR passes that CSR's array starts and its indptr
// from the first row on, so indptr[0] need not be 0.
struct CsrRowsView {
  uint64_t n_rows = 0;
  const uint64_t* indptr = nullptr;
  const uint32_t* indices = nullptr;
  const uint32_t* counts = nullptr;  // for ValueType::kUInt32
  const float* floats = nullptr;     // for ValueType::kFloat32
};

// Zone map and location of one chunk (format-spec §2.4). Column ids are the
// file's stored ids (§4.4), values are decoded values.
struct ChunkInfo {
  uint64_t offset = 0;
  uint32_t stored_len = 0;
  uint32_t raw_len = 0;
  uint64_t first_row = 0;
  uint32_t n_rows = 0;
  uint32_t nnz = 0;
  uint32_t min_col = 0;
  uint32_t max_col = 0;
  double min_value = 0;
  double max_value = 0;
  double sum = 0;
  uint8_t codec = 0;
  uint8_t value_encoding = 0;
  uint64_t checksum = 0;
};

struct SegmentInfo {
  uint16_t major = 0, minor = 0;
  uint64_t file_id = 0;
  uint64_t n_rows = 0;
  uint32_t n_cols = 0;
  ValueType value_type = ValueType::kUInt32;
  uint64_t nnz = 0;
  double sum = 0;
  uint64_t file_size = 0;
  uint64_t footer_offset = 0;
  uint64_t footer_len = 0;
  bool permuted = false;
  std::vector<uint32_t> stored_to_original;  // empty unless permuted
  std::vector<ChunkInfo> chunks;
};

enum class ChunkCodecChoice : uint8_t { kAuto, kNone, kZstd, kLz4 };

struct SegmentWriterOptions {
  uint32_t n_cols = 0;
  ValueType value_type = ValueType::kUInt32;
  // Chunks close when their encoded size reaches about this many bytes.
  uint32_t target_chunk_bytes = 16 * 1024;
  // ... but not before they hold this many rows: each chunk costs an 80-byte
  // directory entry held in memory by readers, so dense cells (several KiB
  // each) would otherwise cost more index than data. Datasets use 24
  // (WriteOptions), which bounds the directory at 80/24 = 3.3 bytes per cell.
  uint32_t min_chunk_rows = 1;
  // kAuto: none for integer counts (bit-packed data barely compresses),
  // zstd for floats. A compressed chunk is kept only if it is smaller.
  ChunkCodecChoice codec = ChunkCodecChoice::kAuto;
  int zstd_level = 3;
  // Float values as byte planes (value encoding 4) rather than plain
  // little-endian (3); planes compress better under zstd/lz4.
  bool shuffle_floats = true;
  // Optional stored_to_original gene permutation (format-spec §4.4). Empty =
  // identity. See FrequencyOrder() below.
  std::vector<uint32_t> stored_to_original;
  // 0 = random. Fixed ids make byte-identical files (golden tests).
  uint64_t file_id = 0;
};

// Column order putting the most frequent columns first (ties by id), from
// per-column nonzero counts: the permutation SegmentWriterOptions expects.
std::vector<uint32_t> FrequencyOrder(std::span<const uint64_t> col_nnz);

struct SegmentWriteStats {
  uint64_t n_rows = 0, nnz = 0, file_bytes = 0, chunks = 0;
};

// Streams rows into a segment file: rows are appended in blocks and encoded
// chunk by chunk, so memory holds at most one chunk of rows.
class SegmentWriter {
 public:
  // `file` must stay valid until Finish() returns; it receives the bytes.
  static Result<std::unique_ptr<SegmentWriter>> Create(io::WritableFile* file, SegmentWriterOptions options);
  virtual ~SegmentWriter() = default;

  // Appends rows. Column ids must be < n_cols and, within a row, strictly
  // increasing; the value array must match value_type.
  virtual Status AppendRows(const CsrRowsView& rows) = 0;

  // Flushes the last chunk, writes footer and tail, syncs. No more appends.
  // After any error from AppendRows or Finish the writer is unusable: every
  // later call returns that error and the file must be discarded.
  virtual Result<SegmentWriteStats> Finish() = 0;
};

// What a scan reads: a row range, the streams to decode (projection
// pushdown) and entry filters that also skip chunks by zone map.
struct ScanOptions {
  uint64_t row_begin = 0;
  uint64_t row_end = UINT64_MAX;       // clamped to n_rows
  bool want_indices = true;            // decode column ids
  bool want_values = true;             // decode values
  bool sorted_indices = true;          // re-sort rows of permuted files
  // false: return the file's stored column ids (§4.4) without mapping them
  // to original ids; the caller maps them (SegmentInfo::stored_to_original),
  // e.g. once per gene after accumulating per stored id.
  bool original_ids = true;
  // Keep only entries with a value in [value_min, value_max]; chunks whose
  // zone map rules out every value in the range are skipped unread.
  double value_min = -1.0 / 0.0;
  double value_max = 1.0 / 0.0;
  // Keep only these rows (sorted, distinct; empty = every row in the range).
  // Chunks holding none of them are skipped unread, and within a chunk only
  // the encoded blocks of the selected rows are decoded; other rows of the
  // returned blocks come back empty.
  std::vector<uint64_t> rows;
  // Keep only entries of these (original) columns; empty = all. Chunks whose
  // [min_col, max_col] holds none of them are skipped unread.
  std::vector<uint32_t> columns;
};

struct ScanStats {
  uint64_t chunks_total = 0, chunks_read = 0, chunks_skipped = 0, bytes_read = 0;
};

class SegmentReader;

// Iterates over the chunks a scan keeps, one CSR block of rows per call,
// reusing the block's buffers. With want_indices/want_values off, the
// corresponding arrays are left empty. With a column selection or value
// range, rows of chunks skipped by zone map are not returned at all, and rows
// of chunks that are read come back possibly empty: place rows by
// *first_row, not by counting. A scanner must not outlive its reader. After
// an error, Next() may be called again: it retries the same chunk.
class SegmentScanner {
 public:
  virtual ~SegmentScanner() = default;
  // Fills *block with the next rows (block->n_rows > 0) and returns true, or
  // returns false at the end. *first_row is the global id of block row 0.
  virtual Result<bool> Next(CsrMatrix* block, uint64_t* first_row) = 0;
  virtual const ScanStats& stats() const = 0;
};

class SegmentReader {
 public:
  // Reads and verifies header, tail and footer (format-spec §2). `file` is
  // shared because scanners may outlive a particular call.
  static Result<std::unique_ptr<SegmentReader>> Open(std::shared_ptr<io::RandomAccessFile> file);
  virtual ~SegmentReader() = default;

  virtual const SegmentInfo& info() const = 0;

  // Rows [begin, end) as CSR with original column ids.
  virtual Status ReadRows(uint64_t begin, uint64_t end, CsrMatrix* out) const = 0;

  // The given rows, in the given order (repeats allowed).
  virtual Status ReadRowList(std::span<const uint64_t> rows, CsrMatrix* out) const = 0;

  // rows x cols submatrix: out row i is rows[i], out column j is cols[j].
  // cols must not repeat.
  virtual Status ReadSubmatrix(std::span<const uint64_t> rows, std::span<const uint32_t> cols,
                               CsrMatrix* out) const = 0;

  virtual Result<std::unique_ptr<SegmentScanner>> Scan(ScanOptions options) const = 0;

  // Reads chunk `chunk`, checks its checksum, decodes every stream and
  // checks the decoded data against the directory's zone map (format-spec
  // §2.4). Errors name the file, chunk and offset.
  virtual Status VerifyChunk(size_t chunk) const = 0;

  // VerifyChunk for every chunk; returns the first problem found.
  virtual Status VerifyAll() const = 0;
};

}  // namespace slaf
