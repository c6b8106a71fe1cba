// Column tables (.tbl, format-spec §7): the cell (obs) and gene (var)
// metadata of a dataset. A table holds n_rows rows and typed columns with
// nulls; each column is stored as independently decodable chunks of rows
// with a zone map (min/max, null count) per chunk.
//
// Thread safety: a TableReader is immutable after Open; its const methods
// may run concurrently, each with its own output Column.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "slaf/segment.h"
#include "slaf/status.h"

namespace slaf {

namespace io {
class RandomAccessFile;
class WritableFile;
}  // namespace io

// Column types as stored on disk (format-spec §7); never renumber.
enum class ColumnType : uint8_t {
  kInt64 = 1,
  kFloat64 = 2,
  kBool = 3,
  kString = 4,
  // Dictionary-coded strings: codes index `categories`, whose order is kept
  // (it is meaningful, e.g. ordered clusters).
  kCategorical = 5,
};

std::string_view ColumnTypeName(ColumnType t);          // "int64", "float64", ...
Result<ColumnType> ParseColumnType(std::string_view s);  // inverse of the above

// One column in memory, Arrow-like. Exactly the array of its type is used.
// Null rows hold 0 / empty string / code 0 in the value array.
struct Column {
  std::string name;
  ColumnType type = ColumnType::kInt64;
  uint64_t n_rows = 0;
  // Empty = no nulls; else n_rows bytes, 1 = valid, 0 = null.
  std::vector<uint8_t> valid;
  std::vector<int64_t> ints;          // kInt64
  std::vector<double> doubles;        // kFloat64
  std::vector<uint8_t> bools;         // kBool, 0 or 1
  std::vector<uint64_t> offsets;      // kString: n_rows + 1 entries into chars
  std::string chars;                  // kString
  std::vector<uint32_t> codes;        // kCategorical
  std::vector<std::string> categories;  // kCategorical, distinct

  bool is_null(uint64_t i) const { return !valid.empty() && valid[i] == 0; }
  uint64_t null_count() const;
  // kString or kCategorical value of row i ("" for null).
  std::string_view str(uint64_t i) const;

  // Builders for tests and programs; each returns a column with no nulls.
  static Column Int64(std::string name, std::vector<int64_t> v);
  static Column Float64(std::string name, std::vector<double> v);
  static Column Bool(std::string name, std::vector<uint8_t> v);
  static Column String(std::string name, const std::vector<std::string>& v);
  static Column Categorical(std::string name, std::vector<uint32_t> codes, std::vector<std::string> categories);

  // Checks the invariants above (array sizes, offsets increasing, codes <
  // categories.size(), categories distinct, valid bytes 0/1, bools 0/1).
  Status Validate() const;
  // Exact equality of name, type, nulls and values (floats bitwise, so NaN
  // equals NaN); for a test's EXPECT and for append checks.
  bool Equals(const Column& other) const;
};

struct Table {
  uint64_t n_rows = 0;
  std::vector<Column> columns;

  const Column* Find(std::string_view name) const;
  // Every column valid, n_rows rows, names distinct and non-empty.
  Status Validate() const;
};

// Zone map and location of one column chunk (format-spec §7).
struct TableChunkInfo {
  uint64_t offset = 0;
  uint32_t stored_len = 0;
  uint32_t raw_len = 0;
  uint64_t first_row = 0;
  uint32_t n_rows = 0;
  uint32_t null_count = 0;
  // Zone map over the non-null values: int64 columns use min_int/max_int;
  // float64 min/max_double (NaN excluded); bool 0/1 in min/max_int;
  // categorical the smallest/largest code in min/max_int; string none.
  // has_minmax is false when the chunk has no (non-NaN) non-null values.
  bool has_minmax = false;
  int64_t min_int = 0, max_int = 0;
  double min_double = 0, max_double = 0;
  uint8_t codec = 0;
  uint8_t encoding = 0;
  uint64_t checksum = 0;
};

struct TableColumnInfo {
  std::string name;
  ColumnType type = ColumnType::kInt64;
  uint64_t null_count = 0;
  std::vector<std::string> categories;  // kCategorical
  std::vector<TableChunkInfo> chunks;   // in row order, covering [0, n_rows)
};

struct TableInfo {
  uint16_t major = 0, minor = 0;
  uint64_t file_id = 0;
  uint64_t n_rows = 0;
  uint64_t file_size = 0;
  std::vector<TableColumnInfo> columns;
  int FindColumn(std::string_view name) const;  // index or -1
};

struct TableWriterOptions {
  uint32_t rows_per_chunk = 65536;
  // kAuto: a chunk is compressed with zstd only when that saves at least
  // 1/8 of its bytes; bit-packed integers are usually left alone.
  ChunkCodecChoice codec = ChunkCodecChoice::kAuto;
  int zstd_level = 3;
  uint64_t file_id = 0;  // 0 = random
};

struct TableWriteStats {
  uint64_t n_rows = 0, file_bytes = 0, chunks = 0;
};

// Writes `table` (validated first) as one .tbl file; syncs, does not close.
Result<TableWriteStats> WriteTable(io::WritableFile* file, const Table& table, const TableWriterOptions& options);

class TableReader {
 public:
  // Reads and verifies header, tail and footer (format-spec §2, §7).
  static Result<std::unique_ptr<TableReader>> Open(std::shared_ptr<io::RandomAccessFile> file);
  virtual ~TableReader() = default;
  virtual const TableInfo& info() const = 0;
  // Rows [row_begin, row_end) of column `index` into *out (replacing its
  // contents; name/type/categories filled from the footer). Only the chunks
  // overlapping the range are read; every chunk read is checksum-verified.
  virtual Status ReadColumn(size_t index, uint64_t row_begin, uint64_t row_end, Column* out) const = 0;
  Status ReadColumn(size_t index, Column* out) const { return ReadColumn(index, 0, UINT64_MAX, out); }
  // Reads every column.
  virtual Result<Table> ReadAll() const = 0;
  // Checksums, decoding and zone maps of every chunk.
  virtual Status VerifyAll() const = 0;
};

}  // namespace slaf
