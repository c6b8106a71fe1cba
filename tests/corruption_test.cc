// Damaged segment files: every truncation, every single-bit flip (and byte
// inversion), and footers crafted to claim absurd sizes. The reader must
// report Corruption or NotSupported naming the file and where, or decode
// exactly the original matrix; never crash, never allocate what the file
// cannot back.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "codecs/checksum.h"
#include "engine/format.h"
#include "slaf/file.h"
#include "slaf/inspect.h"
#include "slaf/segment.h"
#include "tests/alloc_guard.h"

namespace slaf {
namespace {

using engine::Load;
using engine::Store;

struct Original {
  std::string name;
  CsrMatrix matrix;
  std::vector<uint8_t> bytes;
};

// u32 counts, frequency-ordered columns, tiny chunks; or f32 with zstd (or
// lz4). A few KiB each.
Original MakeFile(ValueType type, ChunkCodecChoice codec, const std::string& name) {
  Original o;
  o.name = name;
  CsrMatrix& m = o.matrix;
  const bool is_int = type == ValueType::kUInt32;
  const uint32_t n_cols = is_int ? 60 : 40;
  m.Clear(n_cols, type);
  std::mt19937_64 rng(is_int ? 1 : 2);
  for (int r = 0; r < (is_int ? 120 : 90); ++r) {
    for (uint32_t c = 0; c < n_cols; ++c) {
      if (rng() % 100 >= (is_int ? 6 + c / 3 : 25)) continue;  // skewed columns for the permutation
      m.indices.push_back(c);
      const uint64_t big = rng() % 10 == 0;  // own statement: rng() calls in one expression are unsequenced
      if (is_int) m.counts.push_back(1 + static_cast<uint32_t>(rng() % (big ? 5000 : 4)));
      else m.floats.push_back(static_cast<float>(static_cast<int>(rng() % 16) - 5) * 0.25f);
    }
    m.indptr.push_back(m.indices.size());
    ++m.n_rows;
  }
  SegmentWriterOptions opt;
  opt.n_cols = n_cols;
  opt.value_type = type;
  opt.target_chunk_bytes = 1;
  opt.codec = codec;
  opt.file_id = 0x5EED;
  if (is_int) {
    std::vector<uint64_t> col_nnz(n_cols, 0);
    for (uint32_t c : m.indices) ++col_nnz[c];
    opt.stored_to_original = FrequencyOrder(col_nnz);
  }
  auto file = io::NewMemoryWritableFile(name, &o.bytes);
  auto w = SegmentWriter::Create(file.get(), opt);
  EXPECT_TRUE(w.ok());
  CsrRowsView v{m.n_rows, m.indptr.data(), m.indices.data(), m.counts.data(), m.floats.data()};
  EXPECT_TRUE((*w)->AppendRows(v).ok());
  EXPECT_TRUE((*w)->Finish().ok());
  return o;
}

bool SameMatrix(const CsrMatrix& a, const CsrMatrix& b) {
  if (a.n_rows != b.n_rows || a.n_cols != b.n_cols || a.value_type != b.value_type || a.indptr != b.indptr || a.indices != b.indices ||
      a.counts != b.counts || a.floats.size() != b.floats.size()) {
    return false;
  }
  for (size_t k = 0; k < a.floats.size(); ++k) {
    if (std::bit_cast<uint32_t>(a.floats[k]) != std::bit_cast<uint32_t>(b.floats[k])) return false;
  }
  return true;
}

// Runs every read path over `bytes`: Open, VerifyAll, ReadRows over all rows
// and a full Scan. Returns the first error, or OK with *same telling whether
// both reads gave exactly the original matrix.
Status ReadEverything(const Original& o, std::vector<uint8_t> bytes, bool* same) {
  *same = false;
  auto r = SegmentReader::Open(io::NewMemoryFile(o.name, std::move(bytes)));
  if (!r.ok()) return r.status();
  const SegmentReader& reader = **r;
  SLAF_RETURN_IF_ERROR(reader.VerifyAll());
  CsrMatrix rows;
  SLAF_RETURN_IF_ERROR(reader.ReadRows(0, reader.info().n_rows, &rows));
  auto scanner = reader.Scan(ScanOptions{});
  if (!scanner.ok()) return scanner.status();
  CsrMatrix scanned, block;
  scanned.Clear(reader.info().n_cols, reader.info().value_type);
  uint64_t first = 0;
  while (true) {
    auto more = (*scanner)->Next(&block, &first);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (first != scanned.n_rows) return Status::OK();  // rows out of place: not the original
    const uint64_t base = scanned.indices.size();
    for (uint64_t i = 1; i <= block.n_rows; ++i) scanned.indptr.push_back(base + block.indptr[i]);
    scanned.n_rows += block.n_rows;
    scanned.indices.insert(scanned.indices.end(), block.indices.begin(), block.indices.end());
    scanned.counts.insert(scanned.counts.end(), block.counts.begin(), block.counts.end());
    scanned.floats.insert(scanned.floats.end(), block.floats.begin(), block.floats.end());
  }
  *same = SameMatrix(rows, o.matrix) && SameMatrix(scanned, o.matrix);
  return Status::OK();
}

// A detected error names the file and, unless `where` is off (a file too
// short to hold any structure), says where: an offset or a chunk.
::testing::AssertionResult WellFormedError(const Original& o, const Status& s, bool where = true) {
  if (!s.IsCorruption() && !s.IsNotSupported()) return ::testing::AssertionFailure() << "not Corruption/NotSupported: " << s.ToString();
  if (s.message().find(o.name) == std::string::npos) return ::testing::AssertionFailure() << "file name missing: " << s.ToString();
  if (where && s.message().find("offset") == std::string::npos && s.message().find("chunk") == std::string::npos) {
    return ::testing::AssertionFailure() << "no offset or chunk: " << s.ToString();
  }
  return ::testing::AssertionSuccess();
}

class Corruption : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case 0: o_ = MakeFile(ValueType::kUInt32, ChunkCodecChoice::kNone, "counts.seg"); break;
      default: o_ = MakeFile(ValueType::kFloat32, ChunkCodecChoice::kZstd, "floats.seg"); break;
    }
    bool same = false;
    const Status s = ReadEverything(o_, o_.bytes, &same);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(same);
    auto r = SegmentReader::Open(io::NewMemoryFile(o_.name, o_.bytes));
    ASSERT_TRUE(r.ok());
    info_ = (*r)->info();
    ASSERT_GE(info_.chunks.size(), 3u);
    ASSERT_GE(o_.bytes.size(), 2000u);
    ASSERT_LE(o_.bytes.size(), 8000u);
    if (GetParam() == 1) {
      bool compressed = false;
      for (const ChunkInfo& c : info_.chunks) compressed |= c.codec == 1;
      ASSERT_TRUE(compressed) << "some chunk must be zstd-compressed";
    }
  }
  Original o_;
  SegmentInfo info_;
};

TEST_P(Corruption, EveryTruncation) {
  for (size_t len = 0; len < o_.bytes.size(); ++len) {
    bool same = false;
    const Status s = ReadEverything(o_, std::vector<uint8_t>(o_.bytes.begin(), o_.bytes.begin() + len), &same);
    ASSERT_FALSE(s.ok()) << "truncated to " << len << " bytes, still read";
    // Below 128 bytes there is no header, footer and tail to point into.
    ASSERT_TRUE(WellFormedError(o_, s, /*where=*/len >= 128)) << "truncated to " << len;
  }
}

TEST_P(Corruption, EveryBitFlip) {
  const uint8_t masks[] = {1, 2, 4, 8, 16, 32, 64, 128, 0xFF};
  size_t detected = 0, identical = 0;
  std::vector<size_t> identical_at;
  std::vector<uint8_t> bytes = o_.bytes;
  for (size_t pos = 0; pos < bytes.size(); ++pos) {
    for (uint8_t mask : masks) {
      bytes[pos] ^= mask;
      bool same = false;
      const Status s = ReadEverything(o_, bytes, &same);
      bytes[pos] ^= mask;
      if (s.ok()) {
        ASSERT_TRUE(same) << "flip " << int(mask) << " at byte " << pos << " decoded to a different matrix";
        ++identical;
        if (identical_at.empty() || identical_at.back() != pos) identical_at.push_back(pos);
      } else {
        ASSERT_TRUE(WellFormedError(o_, s)) << "flip " << int(mask) << " at byte " << pos;
        ++detected;
      }
    }
  }
  std::printf("%s: %zu bytes, %zu flips detected, %zu decoded identical (at bytes", o_.name.c_str(), bytes.size(), detected, identical);
  for (size_t p : identical_at) std::printf(" %zu", p);
  std::printf(")\n");
  EXPECT_GT(detected, 0u);
  // Only the tail's minor version (2 bytes at size-6) may change unnoticed:
  // readers accept every minor version of their major (format-spec §1.3).
  EXPECT_LE(identical, 2u * 9);
  for (size_t p : identical_at) {
    EXPECT_TRUE(p == bytes.size() - 6 || p == bytes.size() - 5) << "undetected change at byte " << p;
  }
}

TEST_P(Corruption, InspectAgreesOnEveryBitFlip) {
  // slaf-inspect's library walks damaged files too: it must reach the same
  // verdict as the reader and never crash, and the hex dump of every chunk
  // must survive whatever the bytes say.
  std::vector<uint8_t> bytes = o_.bytes;
  for (size_t pos = 0; pos < bytes.size(); ++pos) {
    for (uint8_t mask : {uint8_t{1}, uint8_t{0x10}, uint8_t{0xFF}}) {
      bytes[pos] ^= mask;
      bool same = false;
      const Status read = ReadEverything(o_, bytes, &same);
      const auto file = io::NewMemoryFile(o_.name, bytes);
      bytes[pos] ^= mask;
      std::string report;
      InspectOptions opt;
      opt.json = pos % 2;
      const Status inspected = InspectSegment(*file, opt, &report);
      ASSERT_EQ(inspected.ok(), read.ok()) << "flip " << int(mask) << " at byte " << pos << ": reader says " << read.ToString()
                                           << ", inspect says " << inspected.ToString();
      ASSERT_FALSE(report.empty());
      for (size_t i = 0; i <= info_.chunks.size(); ++i) {
        std::string dump;
        (void)HexDumpChunk(*file, i, &dump);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Crafted footers: fields rewritten, checksums recomputed so that only the
// reader's own limits stand between the claim and an allocation.

struct Crafted {
  std::vector<uint8_t> bytes;
  uint64_t footer_offset = 0, footer_len = 0;
  uint8_t* footer() { return bytes.data() + footer_offset; }
  uint8_t* entry(size_t i) { return footer() + engine::kFooterFixedSize + engine::kDirEntrySize * i; }
  uint8_t* tail() { return bytes.data() + bytes.size() - engine::kTailSize; }
  // Recomputes the footer checksum in the tail (format-spec §2.5).
  void Seal() { Store<uint64_t>(tail() + 16, codecs::Checksum64(footer(), footer_len, footer_offset)); }
};

Crafted Parse(const Original& o) {
  Crafted c;
  c.bytes = o.bytes;
  c.footer_offset = Load<uint64_t>(c.tail());
  c.footer_len = Load<uint64_t>(c.tail() + 8);
  return c;
}

// ReadEverything under the allocation guard. Returns false (and records a
// failure) when the reader tried a single allocation over kAllocCap.
bool GuardedReadEverything(const Original& o, const std::vector<uint8_t>& bytes, Status* s, bool* same) {
  g_largest_alloc = 0;
  g_alloc_guard = true;
  try {
    *s = ReadEverything(o, bytes, same);
  } catch (const std::bad_alloc&) {
    g_alloc_guard = false;
    ADD_FAILURE() << "reader tried to allocate " << g_largest_alloc.load() << " bytes at once";
    return false;
  }
  g_alloc_guard = false;
  return true;
}

// Reads everything under the allocation guard; the read must fail quickly
// with a well-formed error and allocate no more than kAllocCap at once.
void ExpectRejected(const Original& o, const Crafted& c, const std::string& what) {
  SCOPED_TRACE(what);
  bool same = false;
  Status s;
  const auto start = std::chrono::steady_clock::now();
  if (!GuardedReadEverything(o, c.bytes, &s, &same)) return;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(s.ok()) << "crafted file was accepted";
  EXPECT_TRUE(WellFormedError(o, s));
  EXPECT_LT(secs, 1.0);
  std::printf("%-40s largest allocation %8zu bytes, %.4f s: %s\n", what.c_str(), g_largest_alloc.load(), secs, s.ToString().c_str());
}

TEST(CraftedFooter, HugeCounts) {
  for (const Original& o : {MakeFile(ValueType::kUInt32, ChunkCodecChoice::kNone, "counts.seg"),
                            MakeFile(ValueType::kFloat32, ChunkCodecChoice::kZstd, "floats.seg"),
                            MakeFile(ValueType::kFloat32, ChunkCodecChoice::kLz4, "floats_lz4.seg")}) {
    SCOPED_TRACE(o.name);
    const Crafted base = Parse(o);
    const uint32_t n_chunks = Load<uint32_t>(base.bytes.data() + base.footer_offset + 24);
    ASSERT_GE(n_chunks, 2u);
    for (uint32_t claim : {1u << 31, 0xFFFFFFFFu, n_chunks + 1}) {
      Crafted c = base;
      Store<uint32_t>(c.footer() + 24, claim);
      c.Seal();
      ExpectRejected(o, c, "n_chunks " + std::to_string(claim));
    }
    for (uint64_t claim : {uint64_t{1} << 40, (uint64_t{1} << 40) + 1, UINT64_MAX}) {
      Crafted c = base;
      Store<uint64_t>(c.footer() + 8, claim);
      c.Seal();
      ExpectRejected(o, c, "n_rows " + std::to_string(claim));
    }
    {
      Crafted c = base;
      Store<uint64_t>(c.footer() + 32, UINT64_MAX);
      c.Seal();
      ExpectRejected(o, c, "nnz 2^64-1");
    }
    {
      Crafted c = base;
      Store<uint32_t>(c.footer() + 16, 0x80000000u);  // n_cols 2^31
      if (o.matrix.value_type == ValueType::kUInt32) {
        c.Seal();  // permuted: the permutation would need 8 GiB of footer
        ExpectRejected(o, c, "n_cols 2^31 with permutation");
      }
    }
    // Tail lengths and offsets.
    for (uint64_t len : {UINT64_MAX, uint64_t{1} << 63, base.footer_len + 1, uint64_t{0}}) {
      Crafted c = base;
      Store<uint64_t>(c.tail() + 8, len);
      ExpectRejected(o, c, "footer_len " + std::to_string(len));
    }
    for (uint64_t off : {UINT64_MAX, uint64_t{0}, base.footer_offset - 1}) {
      Crafted c = base;
      Store<uint64_t>(c.tail(), off);
      ExpectRejected(o, c, "footer_offset " + std::to_string(off));
    }
    // Directory entries.
    for (uint32_t len : {0xFFFFFFFFu, (256u << 20) + 1, 256u << 20, 64u << 20}) {
      Crafted c = base;
      Store<uint32_t>(c.entry(0) + 12, len);
      c.Seal();
      ExpectRejected(o, c, "raw_len " + std::to_string(len));
    }
    for (uint32_t len : {0xFFFFFFFFu, 256u << 20}) {
      Crafted c = base;
      Store<uint32_t>(c.entry(1) + 8, len);
      c.Seal();
      ExpectRejected(o, c, "stored_len " + std::to_string(len));
    }
    // A chunk claiming many more rows or nonzeros, with every total and
    // first_row adjusted to match so only the chunk's own bytes disagree.
    for (uint32_t rows : {1u << 24, (1u << 24) + 1, 1u << 20}) {
      Crafted c = base;
      const uint32_t delta = rows - Load<uint32_t>(c.entry(0) + 24);
      Store<uint32_t>(c.entry(0) + 24, rows);
      for (uint32_t i = 1; i < n_chunks; ++i) Store<uint64_t>(c.entry(i) + 16, Load<uint64_t>(c.entry(i) + 16) + delta);
      Store<uint64_t>(c.footer() + 8, Load<uint64_t>(c.footer() + 8) + delta);
      c.Seal();
      ExpectRejected(o, c, "chunk n_rows " + std::to_string(rows));
    }
    for (uint32_t nnz : {0xFFFFFFFFu, 1u << 26, 1u << 24}) {
      Crafted c = base;
      const uint64_t delta = nnz - Load<uint32_t>(c.entry(0) + 28);
      Store<uint32_t>(c.entry(0) + 28, nnz);
      Store<uint64_t>(c.footer() + 32, Load<uint64_t>(c.footer() + 32) + delta);
      c.Seal();
      ExpectRejected(o, c, "chunk nnz " + std::to_string(nnz));
    }
  }
}

TEST(CraftedFooter, HugeColumnCountWithoutPermutation) {
  // n_cols 2^31 is within the limits; a file claiming it still reads with
  // allocations bounded by its bytes.
  const Original o = MakeFile(ValueType::kFloat32, ChunkCodecChoice::kZstd, "floats.seg");
  Crafted c = Parse(o);
  Store<uint32_t>(c.footer() + 16, 0x80000000u);
  c.Seal();
  Status s;
  bool same = false;
  if (!GuardedReadEverything(o, c.bytes, &s, &same)) return;
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(same) << "n_cols differs from the original";
}

INSTANTIATE_TEST_SUITE_P(Files, Corruption, ::testing::Values(0, 1),
                         [](const auto& info) { return info.param == 0 ? "counts_permuted" : "floats_zstd"; });

}  // namespace
}  // namespace slaf
