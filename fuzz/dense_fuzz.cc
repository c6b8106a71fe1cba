// libFuzzer target: a whole dense matrix file (.dense, format-spec §8) from
// untrusted bytes. Opens it, reads all rows and a sub-range, and verifies
// every chunk. Any input must give OK or an error Status: never a crash,
// hang or huge allocation (run with -malloc_limit_mb=512). Reads stay within
// a work budget per input (kInputWork): a matrix may validly claim far more
// values than it has bytes (zstd), and reading all of those is legitimately
// slow.
//
// Oracles, beyond "no crash":
//  - a matrix that verifies (VerifyAll) also reads whole, and a failed read
//    leaves no rows in its result;
//  - a sub-range read of a matrix that read whole succeeds and equals the
//    same rows of the whole read;
//  - a matrix that was read is written by WriteDense and reads back Equals.
//    The writer options (codec, shuffle, chunk size) are derived from the
//    input's size so every writer path is exercised.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "slaf/dense.h"
#include "slaf/file.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "dense_fuzz: %s\n", what.c_str());
  std::abort();
}

slaf::DenseMatrix Slice(const slaf::DenseMatrix& m, uint64_t b, uint64_t e) {
  slaf::DenseMatrix s;
  s.n_rows = e - b;
  s.n_cols = m.n_cols;
  s.type = m.type;
  const uint64_t v0 = b * m.n_cols, v1 = e * m.n_cols;
  if (m.type == slaf::DenseType::kFloat32) s.f32.assign(m.f32.begin() + v0, m.f32.begin() + v1);
  else s.f64.assign(m.f64.begin() + v0, m.f64.begin() + v1);
  return s;
}

// Bytes decompressed to read rows [b, e): every chunk they touch, whole.
uint64_t RangeWork(const slaf::DenseInfo& info, uint64_t b, uint64_t e) {
  uint64_t w = 0;
  for (const slaf::DenseChunkInfo& c : info.chunks) {
    if (c.first_row < e && b < c.first_row + c.n_rows) w += c.raw_len;
  }
  return w;
}

// The format lets a small file claim a great deal: zstd turns a few KiB into
// 128 MiB of values (§8.5), and reading that is legitimately slow under ASan.
// Work on one input stays within these budgets, so a run never times out or
// passes -malloc_limit_mb=512 / -rss_limit_mb=2048 on a valid but huge
// matrix; inputs beyond them still open and read the rows that fit.
constexpr uint64_t kWholeReadBytes = 16ull << 20;  // whole read and the round trip
constexpr uint64_t kInputWork = 128ull << 20;      // bytes decoded by one input

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = std::shared_ptr<slaf::io::RandomAccessFile>(slaf::io::NewMemoryFile("fuzz.dense", std::vector<uint8_t>(data, data + size)));
  auto reader = slaf::DenseReader::Open(file);
  if (!reader.ok()) return 0;
  const slaf::DenseInfo& info = (*reader)->info();
  const uint64_t n = info.n_rows;
  const uint64_t row_bytes = uint64_t{info.n_cols} * (info.type == slaf::DenseType::kFloat32 ? 4 : 8);
  uint64_t total_work = 0;
  for (const slaf::DenseChunkInfo& c : info.chunks) total_work += c.raw_len;
  uint64_t budget = kInputWork;
  auto spend = [&budget](uint64_t work) {
    if (work > budget) return false;
    budget -= work;
    return true;
  };
  const bool whole = total_work <= kWholeReadBytes;  // = n_rows x row bytes (§8.3 step 9)
  // The whole read and the round trip (write, verify, read back) cost about
  // four whole reads; the sub-range of a matrix read whole always runs.
  if (whole) budget -= 4 * total_work;
  const bool verified_all = spend(total_work) && (*reader)->VerifyAll().ok();
  slaf::DenseMatrix all, part;
  slaf::Status all_status = whole ? (*reader)->ReadRows(0, n, &all) : slaf::Status::InvalidArgument("skipped");
  const bool all_ok = all_status.ok();
  if (whole && verified_all && !all_ok) Fail("VerifyAll passes but ReadRows(0, n_rows) fails: " + all_status.ToString());
  if (!all_ok && (all.n_rows != 0 || !all.f32.empty() || !all.f64.empty())) Fail("a failed ReadRows left rows in its result");
  // A middle sub-range (whole chunks and partial ones).
  const uint64_t b = n / 3;
  uint64_t e = std::min(n, b + std::max<uint64_t>(1, n / 3));
  if (!whole) {
    // Shrink it to what the budget allows, down to one row.
    while (e > b + 1 && RangeWork(info, b, e) > budget) e = b + (e - b) / 2;
  }
  slaf::Status s = slaf::Status::InvalidArgument("skipped");
  if (spend(RangeWork(info, b, e)) || whole) s = (*reader)->ReadRows(b, e, &part);
  if (!s.ok() && (part.n_rows != 0 || !part.f32.empty() || !part.f64.empty())) Fail("a failed ReadRows left rows in its result");
  // Out of range must fail cleanly.
  slaf::DenseMatrix bad;
  if ((*reader)->ReadRows(n, n + 1, &bad).ok() || bad.n_rows != 0) Fail("ReadRows past the end succeeds");
  if (!all_ok) return 0;

  if (all.n_rows != n || all.n_cols != info.n_cols || all.type != info.type) Fail("ReadRows(0, n_rows) has another shape than the footer");
  if (!s.ok()) Fail("matrix reads whole but rows [" + std::to_string(b) + ", " + std::to_string(e) + ") fail: " + s.ToString());
  if (!part.Equals(Slice(all, b, e))) Fail("rows [" + std::to_string(b) + ", " + std::to_string(e) + ") differ from the whole read");

  // Round trip through the writer.
  slaf::DenseWriterOptions wo;
  static constexpr slaf::ChunkCodecChoice kCodecs[] = {slaf::ChunkCodecChoice::kAuto, slaf::ChunkCodecChoice::kNone, slaf::ChunkCodecChoice::kZstd, slaf::ChunkCodecChoice::kLz4};
  static constexpr uint32_t kChunkBytes[] = {256 * 1024, 1, 64, 4096};
  wo.codec = kCodecs[size % 4];
  wo.shuffle = (size / 4) % 2 == 0;
  wo.target_chunk_bytes = kChunkBytes[(size / 8) % 4];
  if (wo.target_chunk_bytes < 256 * 1024 && row_bytes && n * row_bytes / std::max<uint64_t>(wo.target_chunk_bytes, row_bytes) > 4096) wo.target_chunk_bytes = 256 * 1024;
  if (wo.target_chunk_bytes < 256 * 1024 && row_bytes == 0) wo.target_chunk_bytes = 256 * 1024;
  wo.file_id = info.file_id ? info.file_id : 1;
  std::vector<uint8_t> sink;
  {
    auto out = slaf::io::NewMemoryWritableFile("fuzz-rewritten.dense", &sink);
    slaf::Status w = slaf::WriteDense(out.get(), all, wo);
    if (!w.ok()) Fail("WriteDense of a matrix that was read fails: " + w.ToString());
  }
  auto again_file = std::shared_ptr<slaf::io::RandomAccessFile>(slaf::io::NewMemoryFile("fuzz-rewritten.dense", std::move(sink)));
  auto again = slaf::DenseReader::Open(again_file);
  if (!again.ok()) Fail("re-written matrix does not open: " + again.status().ToString());
  slaf::Status verified = (*again)->VerifyAll();
  if (!verified.ok()) Fail("re-written matrix does not verify: " + verified.ToString());
  slaf::DenseMatrix back;
  slaf::Status rs = (*again)->ReadRows(0, n, &back);
  if (!rs.ok()) Fail("re-written matrix does not read: " + rs.ToString());
  if (!back.Equals(all)) Fail("re-written matrix differs");
  return 0;
}
