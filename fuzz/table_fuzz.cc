// libFuzzer target: a whole table file (.tbl, format-spec §7) from untrusted
// bytes. Opens it, reads every column, row sub-ranges of each column and
// verifies every chunk. Any input must give OK or an error Status: never a
// crash, hang or huge allocation (run with -malloc_limit_mb=512). Reads stay
// within a work budget per input (kInputWork): a table may validly claim far
// more rows than it has bytes (zstd turns ~30 bytes into 2^24 rows), and
// reading all of those is legitimately slow.
//
// Oracles, beyond "no crash":
//  - a table that verifies (VerifyAll) also reads whole; a column read
//    gives a valid column of the rows asked for, or on error none;
//  - a sub-range read of a column that read whole succeeds and equals the
//    same rows of the whole column (partial decoding agrees with full);
//  - a table that ReadAll returned is valid (Table::Validate), WriteTable
//    writes it, and reading that file back gives Equals columns. The writer
//    options (codec, rows per chunk) are derived from the input's size so
//    every writer path is exercised.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "slaf/file.h"
#include "slaf/table.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "table_fuzz: %s\n", what.c_str());
  std::abort();
}

// Rows [b, e) of a valid column, as a reader returns them (no validity
// bytes when none of those rows is null).
slaf::Column Slice(const slaf::Column& c, uint64_t b, uint64_t e) {
  slaf::Column s;
  s.name = c.name;
  s.type = c.type;
  s.n_rows = e - b;
  s.categories = c.categories;
  bool any_null = false;
  for (uint64_t i = b; i < e; ++i) any_null |= c.is_null(i);
  if (any_null) s.valid.assign(c.valid.begin() + b, c.valid.begin() + e);
  switch (c.type) {
    case slaf::ColumnType::kInt64: s.ints.assign(c.ints.begin() + b, c.ints.begin() + e); break;
    case slaf::ColumnType::kFloat64: s.doubles.assign(c.doubles.begin() + b, c.doubles.begin() + e); break;
    case slaf::ColumnType::kBool: s.bools.assign(c.bools.begin() + b, c.bools.begin() + e); break;
    case slaf::ColumnType::kString:
      for (uint64_t i = b; i <= e; ++i) s.offsets.push_back(c.offsets[i] - c.offsets[b]);
      s.chars = c.chars.substr(c.offsets[b], c.offsets[e] - c.offsets[b]);
      break;
    case slaf::ColumnType::kCategorical: s.codes.assign(c.codes.begin() + b, c.codes.begin() + e); break;
  }
  return s;
}

// Bytes a whole-table read would hold in memory, from the footer's claims.
uint64_t DecodedBytes(const slaf::TableInfo& info) {
  uint64_t total = 0;
  for (const slaf::TableColumnInfo& col : info.columns) {
    uint64_t per_row = col.null_count ? 1 : 0;
    switch (col.type) {
      case slaf::ColumnType::kInt64:
      case slaf::ColumnType::kFloat64:
      case slaf::ColumnType::kString: per_row += 8; break;
      case slaf::ColumnType::kBool: per_row += 1; break;
      case slaf::ColumnType::kCategorical: per_row += 4; break;
    }
    total += per_row * info.n_rows;
    for (const slaf::TableChunkInfo& c : col.chunks) total += c.raw_len;  // string bytes at most
  }
  return total;
}

// Work to read and decode a chunk whole, in rows: its rows plus its payload
// (a chunk is decompressed whole even for a few rows; a string chunk's
// lengths are always decoded whole).
uint64_t ChunkWork(const slaf::TableChunkInfo& c) { return c.n_rows + c.raw_len / 8; }

// Upper bound of the work to read rows [b, e) of a column.
uint64_t RangeWork(const slaf::TableColumnInfo& col, uint64_t b, uint64_t e) {
  uint64_t w = 0;
  for (const slaf::TableChunkInfo& c : col.chunks) {
    if (c.first_row < e && b < c.first_row + c.n_rows) w += ChunkWork(c);
  }
  return w;
}

// The format lets a small file claim a great deal: zstd turns ~30 bytes into
// a chunk of 2^24 rows (§7.9), and decoding that is legitimately slow under
// ASan (~1 s). Work on one input stays within these budgets, so a run
// never times out or passes -malloc_limit_mb=512 / -rss_limit_mb=2048 on a
// valid but huge table; inputs beyond them still open and read the
// sub-ranges that fit.
constexpr uint64_t kWholeReadBytes = 32ull << 20;  // ReadAll and the round trip: decoded bytes
constexpr uint64_t kWholeReadWork = 1ull << 21;    // ... and work
constexpr uint64_t kInputWork = 1ull << 25;        // all reads of one input together

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = std::shared_ptr<slaf::io::RandomAccessFile>(slaf::io::NewMemoryFile("fuzz.tbl", std::vector<uint8_t>(data, data + size)));
  auto reader = slaf::TableReader::Open(file);
  if (!reader.ok()) return 0;
  const slaf::TableInfo& info = (*reader)->info();
  const uint64_t n = info.n_rows;
  uint64_t total_work = 0;
  for (const slaf::TableColumnInfo& col : info.columns) {
    for (const slaf::TableChunkInfo& c : col.chunks) total_work += ChunkWork(c);
  }
  uint64_t budget = kInputWork;
  auto spend = [&budget](uint64_t work) {
    if (work > budget) return false;
    budget -= work;
    return true;
  };
  const bool whole = total_work <= kWholeReadWork && DecodedBytes(info) <= kWholeReadBytes;
  // ReadAll and the round trip (write, verify, read back) cost about four
  // whole reads; the sub-ranges of a table read whole always run.
  if (whole) budget -= 4 * total_work;
  const bool verified_all = spend(total_work) && (*reader)->VerifyAll().ok();
  slaf::Result<slaf::Table> all = whole ? (*reader)->ReadAll() : slaf::Result<slaf::Table>(slaf::Status::InvalidArgument("skipped"));
  // VerifyAll checks every chunk at least as strictly as reading it does.
  if (whole && verified_all && !all.ok()) Fail("VerifyAll passes but ReadAll fails: " + all.status().ToString());

  // Row sub-ranges of every column: a middle range, the last row, an empty
  // range and one crossing the end (clamped to n_rows).
  struct Range {
    uint64_t b, e;
  };
  const uint64_t mid = n / 3;
  const Range ranges[] = {{mid, std::min(n, mid + std::max<uint64_t>(1, n / 3))}, {n ? n - 1 : 0, n}, {mid, mid}, {n > 130 ? n - 130 : 0, n + 5}};
  slaf::Column part;
  for (size_t ci = 0; ci < info.columns.size(); ++ci) {
    for (const Range& r : ranges) {
      const uint64_t e = std::min(r.e, n);
      if (!spend(RangeWork(info.columns[ci], r.b, e)) && !whole) continue;
      slaf::Status s = (*reader)->ReadColumn(ci, r.b, r.e, &part);
      if (s.ok() ? part.n_rows != e - r.b || !part.Validate().ok() : part.n_rows != 0 || !part.Validate().ok()) {
        Fail("column " + std::to_string(ci) + ": rows [" + std::to_string(r.b) + ", " + std::to_string(e) + ") " + (s.ok() ? "read into an invalid column" : "failed and left rows behind"));
      }
      if (!all.ok()) continue;
      if (!s.ok()) Fail("column " + std::to_string(ci) + " reads whole but rows [" + std::to_string(r.b) + ", " + std::to_string(e) + ") fail: " + s.ToString());
      if (!part.Equals(Slice(all->columns[ci], r.b, e))) Fail("column " + std::to_string(ci) + ": rows [" + std::to_string(r.b) + ", " + std::to_string(e) + ") differ from the whole read");
    }
  }
  if (!all.ok()) return 0;

  // Round trip through the writer.
  slaf::Status valid = all->Validate();
  if (!valid.ok()) Fail("ReadAll returned an invalid table: " + valid.ToString());
  slaf::TableWriterOptions wo;
  static constexpr slaf::ChunkCodecChoice kCodecs[] = {slaf::ChunkCodecChoice::kAuto, slaf::ChunkCodecChoice::kNone, slaf::ChunkCodecChoice::kZstd, slaf::ChunkCodecChoice::kLz4};
  static constexpr uint32_t kRowsPerChunk[] = {65536, 1, 7, 128, 1000};
  wo.codec = kCodecs[size % 4];
  wo.rows_per_chunk = kRowsPerChunk[(size / 4) % 5];
  if (n / wo.rows_per_chunk > 4096) wo.rows_per_chunk = 65536;  // keep the rewrite quick
  wo.file_id = info.file_id ? info.file_id : 1;
  std::vector<uint8_t> sink;
  {
    auto out = slaf::io::NewMemoryWritableFile("fuzz-rewritten.tbl", &sink);
    auto st = slaf::WriteTable(out.get(), *all, wo);
    if (!st.ok()) Fail("WriteTable of a table that was read fails: " + st.status().ToString());
  }
  auto again_file = std::shared_ptr<slaf::io::RandomAccessFile>(slaf::io::NewMemoryFile("fuzz-rewritten.tbl", std::move(sink)));
  auto again = slaf::TableReader::Open(again_file);
  if (!again.ok()) Fail("re-written table does not open: " + again.status().ToString());
  slaf::Status verified = (*again)->VerifyAll();
  if (!verified.ok()) Fail("re-written table does not verify: " + verified.ToString());
  auto back = (*again)->ReadAll();
  if (!back.ok()) Fail("re-written table does not read: " + back.status().ToString());
  if (back->n_rows != all->n_rows || back->columns.size() != all->columns.size()) Fail("re-written table has another shape");
  for (size_t ci = 0; ci < all->columns.size(); ++ci) {
    if (!back->columns[ci].Equals(all->columns[ci])) Fail("re-written column " + std::to_string(ci) + " \"" + all->columns[ci].name + "\" differs");
  }
  return 0;
}
