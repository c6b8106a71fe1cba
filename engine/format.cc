// Header, tail, footer and directory (format-spec §2).
//
// Header (32 bytes at offset 0):
//   0 magic "SLAF" | 4 kind "XCSR" ("TABL", "DNSE": §7, §8) | 8 u16 major | 10 u16 minor | 12 u32 flags
//   16 u64 file_id | 24 u64 header_checksum = XXH3-64(bytes 0..23, seed 0)
// Footer fixed part (64 bytes):
//   0 u64 file_id | 8 u64 n_rows | 16 u32 n_cols | 20 u8 value_type
//   21 u8 col_order | 22 u16 reserved | 24 u32 n_chunks | 28 u32 reserved
//   32 u64 nnz | 40 f64 sum | 48 16 bytes reserved
// Directory entry (80 bytes): 0 u64 offset | 8 u32 stored_len | 12 u32 raw_len
//   16 u64 first_row | 24 u32 n_rows | 28 u32 nnz | 32 u32 min_col
//   36 u32 max_col | 40 f64 min_value | 48 f64 max_value | 56 f64 sum
//   64 u8 codec | 65 u8 value_encoding | 66 6 bytes reserved | 72 u64 checksum
// Tail (32 bytes at the end): 0 u64 footer_offset | 8 u64 footer_len
//   16 u64 footer_checksum = XXH3-64(footer, seed footer_offset)
//   24 u16 major | 26 u16 minor | 28 magic "SLAF"
#include "engine/format.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "codecs/checksum.h"
#include "codecs/compress.h"

namespace slaf::engine {

namespace {

std::string Where(const std::string& file, uint64_t offset) {
  return file + ": offset " + std::to_string(offset) + ": ";
}

bool AllZero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

}  // namespace

std::string Hex(const uint8_t* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    if (i) s += ' ';
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

namespace {

// Names a kind in errors; the segment wording predates the other kinds.
std::string KindText(const uint8_t* kind) {
  const std::string k(reinterpret_cast<const char*>(kind), 4);
  const char* what = k == "XCSR" ? "the expression segment kind (format-spec §2.1)"
                     : k == "TABL" ? "the column table kind (format-spec §7.1)"
                     : k == "DNSE" ? "the dense matrix kind (format-spec §8.1)"
                                   : "(format-spec §1.2)";
  return "\"" + k + "\" (" + Hex(kind, 4) + "), " + what;
}

}  // namespace

void EncodeHeader(const Header& h, uint8_t out[kHeaderSize], const uint8_t* kind) {
  std::memcpy(out, kMagic, 4);
  std::memcpy(out + 4, kind, 4);
  Store<uint16_t>(out + 8, h.major);
  Store<uint16_t>(out + 10, h.minor);
  Store<uint32_t>(out + 12, h.flags);
  Store<uint64_t>(out + 16, h.file_id);
  Store<uint64_t>(out + 24, codecs::Checksum64(out, 24, 0));
}

Status DecodeHeader(const uint8_t in[kHeaderSize], const std::string& file, Header* h, const uint8_t* kind) {
  if (std::memcmp(in, kMagic, 4) != 0) {
    return Status::Corruption(Where(file, 0) + "expected magic \"SLAF\" (53 4c 41 46), found " + Hex(in, 4) + " (format-spec §2.1)");
  }
  if (std::memcmp(in + 4, kind, 4) != 0) {
    return Status::NotSupported(Where(file, 4) + "file kind " + Hex(in + 4, 4) + " is not " + KindText(kind));
  }
  h->major = Load<uint16_t>(in + 8);
  h->minor = Load<uint16_t>(in + 10);
  if (h->major != kMajorVersion) {
    return Status::NotSupported(Where(file, 8) + "format major version " + std::to_string(h->major) + ", this reader supports " + std::to_string(kMajorVersion) + " (format-spec §1.3)");
  }
  const uint64_t stored = Load<uint64_t>(in + 24);
  const uint64_t actual = codecs::Checksum64(in, 24, 0);
  if (kCheckChecksums && stored != actual) {
    return Status::Corruption(Where(file, 24) + "header checksum mismatch: stored " + std::to_string(stored) + ", computed " + std::to_string(actual) + " (format-spec §2.1)");
  }
  h->flags = Load<uint32_t>(in + 12);
  if (h->flags != 0) return Status::Corruption(Where(file, 12) + "reserved flags must be 0, found " + std::to_string(h->flags) + " (format-spec §2.1)");
  h->file_id = Load<uint64_t>(in + 16);
  return Status::OK();
}

void ShuffleBytes(const uint8_t* src, size_t n, size_t size, uint8_t* planes) {
  for (size_t b = 0; b < size; ++b)
    for (size_t k = 0; k < n; ++k) planes[b * n + k] = src[k * size + b];
}

void UnshuffleBytes(const uint8_t* planes, size_t n, size_t size, size_t k0, size_t cnt, uint8_t* dst) {
  size_t k = 0;
#ifdef __SSE2__
  // 16 values at a time: interleave the planes bytewise, then in 2- and
  // 4-byte units (an 8x16 or 4x16 byte transpose).
  const uint8_t* p = planes + k0;
  auto load = [&](size_t b) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + b * n + k)); };
  auto store = [&](size_t at, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + at), v); };
  if (size == 8) {
    for (; k + 16 <= cnt; k += 16) {
      const __m128i p0 = load(0), p1 = load(1), p2 = load(2), p3 = load(3), p4 = load(4), p5 = load(5), p6 = load(6), p7 = load(7);
      const __m128i a01l = _mm_unpacklo_epi8(p0, p1), a01h = _mm_unpackhi_epi8(p0, p1);
      const __m128i a23l = _mm_unpacklo_epi8(p2, p3), a23h = _mm_unpackhi_epi8(p2, p3);
      const __m128i a45l = _mm_unpacklo_epi8(p4, p5), a45h = _mm_unpackhi_epi8(p4, p5);
      const __m128i a67l = _mm_unpacklo_epi8(p6, p7), a67h = _mm_unpackhi_epi8(p6, p7);
      const __m128i b0 = _mm_unpacklo_epi16(a01l, a23l), b1 = _mm_unpackhi_epi16(a01l, a23l);  // bytes 0-3 of values 0-3, 4-7
      const __m128i b2 = _mm_unpacklo_epi16(a01h, a23h), b3 = _mm_unpackhi_epi16(a01h, a23h);  // values 8-11, 12-15
      const __m128i c0 = _mm_unpacklo_epi16(a45l, a67l), c1 = _mm_unpackhi_epi16(a45l, a67l);  // bytes 4-7
      const __m128i c2 = _mm_unpacklo_epi16(a45h, a67h), c3 = _mm_unpackhi_epi16(a45h, a67h);
      const size_t at = 8 * k;
      store(at + 0, _mm_unpacklo_epi32(b0, c0));
      store(at + 16, _mm_unpackhi_epi32(b0, c0));
      store(at + 32, _mm_unpacklo_epi32(b1, c1));
      store(at + 48, _mm_unpackhi_epi32(b1, c1));
      store(at + 64, _mm_unpacklo_epi32(b2, c2));
      store(at + 80, _mm_unpackhi_epi32(b2, c2));
      store(at + 96, _mm_unpacklo_epi32(b3, c3));
      store(at + 112, _mm_unpackhi_epi32(b3, c3));
    }
  } else if (size == 4) {
    for (; k + 16 <= cnt; k += 16) {
      const __m128i p0 = load(0), p1 = load(1), p2 = load(2), p3 = load(3);
      const __m128i a01l = _mm_unpacklo_epi8(p0, p1), a01h = _mm_unpackhi_epi8(p0, p1);
      const __m128i a23l = _mm_unpacklo_epi8(p2, p3), a23h = _mm_unpackhi_epi8(p2, p3);
      const size_t at = 4 * k;
      store(at + 0, _mm_unpacklo_epi16(a01l, a23l));
      store(at + 16, _mm_unpackhi_epi16(a01l, a23l));
      store(at + 32, _mm_unpacklo_epi16(a01h, a23h));
      store(at + 48, _mm_unpackhi_epi16(a01h, a23h));
    }
  }
#endif
  for (size_t b = 0; b < size; ++b) {
    const uint8_t* plane = planes + b * n + k0;
    for (size_t j = k; j < cnt; ++j) dst[j * size + b] = plane[j];
  }
}

void AdviseHugePages(void* p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = 2u << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

Status ReadContainer(const io::RandomAccessFile& file, const uint8_t* kind, Header* h, Tail* t, std::vector<uint8_t>* footer) {
  // Bytes read from the end on open: the tail and, for most files, the whole
  // footer, so opening costs one read (one request over HTTP).
  constexpr uint64_t kSpeculativeTailBytes = 64 * 1024;
  const std::string& name = file.name();
  const uint64_t size = file.size();
  if (size < kHeaderSize + kFooterFixedSize + kTailSize) {
    return Status::Corruption(name + ": file is " + std::to_string(size) + " bytes, smaller than the minimal slaf file (128 bytes: header, footer, tail; format-spec §2); truncated?");
  }
  uint8_t header[kHeaderSize];
  SLAF_RETURN_IF_ERROR(file.ReadAt(0, kHeaderSize, header));
  SLAF_RETURN_IF_ERROR(DecodeHeader(header, name, h, kind));
  const uint64_t spec = std::min(size, kSpeculativeTailBytes);
  std::vector<uint8_t> end(spec);
  SLAF_RETURN_IF_ERROR(file.ReadAt(size - spec, spec, end.data()));
  SLAF_RETURN_IF_ERROR(DecodeTail(end.data() + spec - kTailSize, size, name, t));
  if (t->footer_len <= spec - kTailSize) {
    const uint8_t* p = end.data() + (spec - kTailSize - t->footer_len);
    footer->assign(p, p + t->footer_len);
  } else {
    footer->resize(t->footer_len);  // bounded by the file size (DecodeTail)
    SLAF_RETURN_IF_ERROR(file.ReadAt(t->footer_offset, t->footer_len, footer->data()));
  }
  const uint64_t actual = codecs::Checksum64(footer->data(), footer->size(), t->footer_offset);
  if (kCheckChecksums && actual != t->footer_checksum) {
    return Status::Corruption(name + ": offset " + std::to_string(t->footer_offset) + ": footer checksum mismatch: tail says " + std::to_string(t->footer_checksum) +
                              ", computed " + std::to_string(actual) + " over " + std::to_string(t->footer_len) + " bytes (format-spec §2.5)");
  }
  return Status::OK();
}

Status CheckContainerIds(const std::string& file, const Header& h, const Tail& t, uint64_t footer_file_id, uint64_t file_size) {
  if (footer_file_id != h.file_id) {
    return Status::Corruption(Where(file, t.footer_offset) + "footer file_id does not match the header's (format-spec §2.3)");
  }
  if (h.minor != t.minor) {
    return Status::Corruption(Where(file, file_size - kTailSize + 26) + "tail says format minor version " + std::to_string(t.minor) + ", header says " + std::to_string(h.minor) + " (format-spec §2.5)");
  }
  return Status::OK();
}

Status WriteFooterAndTail(io::WritableFile* file, uint64_t footer_offset, std::span<const uint8_t> footer) {
  Tail t;
  t.footer_offset = footer_offset;
  t.footer_len = footer.size();
  t.footer_checksum = codecs::Checksum64(footer.data(), footer.size(), t.footer_offset);
  SLAF_RETURN_IF_ERROR(file->Append(footer));
  uint8_t tail[kTailSize];
  EncodeTail(t, tail);
  SLAF_RETURN_IF_ERROR(file->Append({tail, kTailSize}));
  return file->Sync();
}

void EncodeTail(const Tail& t, uint8_t out[kTailSize]) {
  Store<uint64_t>(out, t.footer_offset);
  Store<uint64_t>(out + 8, t.footer_len);
  Store<uint64_t>(out + 16, t.footer_checksum);
  Store<uint16_t>(out + 24, t.major);
  Store<uint16_t>(out + 26, t.minor);
  std::memcpy(out + 28, kMagic, 4);
}

Status DecodeTail(const uint8_t in[kTailSize], uint64_t file_size, const std::string& file, Tail* t) {
  const uint64_t base = file_size - kTailSize;
  if (std::memcmp(in + 28, kMagic, 4) != 0) {
    return Status::Corruption(Where(file, base + 28) + "expected tail magic \"SLAF\" (53 4c 41 46), found " + Hex(in + 28, 4) + " (format-spec §2.5); the file may be truncated");
  }
  t->major = Load<uint16_t>(in + 24);
  t->minor = Load<uint16_t>(in + 26);
  if (t->major != kMajorVersion) {
    return Status::NotSupported(Where(file, base + 24) + "format major version " + std::to_string(t->major) + ", this reader supports " + std::to_string(kMajorVersion) + " (format-spec §1.3)");
  }
  t->footer_offset = Load<uint64_t>(in);
  t->footer_len = Load<uint64_t>(in + 8);
  t->footer_checksum = Load<uint64_t>(in + 16);
  // §2.5: header <= footer start, footer ends exactly where the tail starts.
  if (t->footer_offset < kHeaderSize || t->footer_offset > base || t->footer_len != base - t->footer_offset) {
    return Status::Corruption(Where(file, base) + "footer at offset " + std::to_string(t->footer_offset) + " with length " + std::to_string(t->footer_len) +
                              " does not end at the tail (offset " + std::to_string(base) + ") (format-spec §2.5)");
  }
  if (t->footer_len < kFooterFixedSize) {
    return Status::Corruption(Where(file, base + 8) + "footer length " + std::to_string(t->footer_len) + " is below the fixed part's 64 bytes (format-spec §2.3)");
  }
  return Status::OK();
}

void EncodeFooter(const SegmentInfo& info, std::vector<uint8_t>* out) {
  const size_t base = out->size();
  const size_t n_perm = info.permuted ? info.stored_to_original.size() : 0;
  out->resize(base + kFooterFixedSize + kDirEntrySize * info.chunks.size() + 4 * n_perm, 0);
  uint8_t* p = out->data() + base;
  Store<uint64_t>(p, info.file_id);
  Store<uint64_t>(p + 8, info.n_rows);
  Store<uint32_t>(p + 16, info.n_cols);
  p[20] = static_cast<uint8_t>(info.value_type);
  p[21] = info.permuted ? 1 : 0;
  Store<uint32_t>(p + 24, static_cast<uint32_t>(info.chunks.size()));
  Store<uint64_t>(p + 32, info.nnz);
  Store<double>(p + 40, info.sum);
  p += kFooterFixedSize;
  for (const ChunkInfo& c : info.chunks) {
    Store<uint64_t>(p, c.offset);
    Store<uint32_t>(p + 8, c.stored_len);
    Store<uint32_t>(p + 12, c.raw_len);
    Store<uint64_t>(p + 16, c.first_row);
    Store<uint32_t>(p + 24, c.n_rows);
    Store<uint32_t>(p + 28, c.nnz);
    Store<uint32_t>(p + 32, c.min_col);
    Store<uint32_t>(p + 36, c.max_col);
    Store<double>(p + 40, c.min_value);
    Store<double>(p + 48, c.max_value);
    Store<double>(p + 56, c.sum);
    p[64] = c.codec;
    p[65] = c.value_encoding;
    Store<uint64_t>(p + 72, c.checksum);
    p += kDirEntrySize;
  }
  for (size_t i = 0; i < n_perm; ++i) Store<uint32_t>(p + 4 * i, info.stored_to_original[i]);
}

Status DecodeFooter(const uint8_t* p, size_t len, const Tail& tail, const std::string& file, SegmentInfo* info) {
  const uint64_t fo = tail.footer_offset;
  auto bad = [&](uint64_t rel, const std::string& what) {
    return Status::Corruption(Where(file, fo + rel) + what);
  };
  info->file_id = Load<uint64_t>(p);
  info->n_rows = Load<uint64_t>(p + 8);
  info->n_cols = Load<uint32_t>(p + 16);
  const uint8_t vt = p[20];
  const uint8_t order = p[21];
  const uint32_t n_chunks = Load<uint32_t>(p + 24);
  info->nnz = Load<uint64_t>(p + 32);
  info->sum = Load<double>(p + 40);
  if (info->n_rows > kMaxRows) return bad(8, "n_rows " + std::to_string(info->n_rows) + " exceeds the limit 2^40 (format-spec §2.6)");
  if (info->n_cols > kMaxCols) return bad(16, "n_cols " + std::to_string(info->n_cols) + " exceeds the limit 2^31 (format-spec §2.6)");
  if (vt != 1 && vt != 2) return Status::NotSupported(Where(file, fo + 20) + "unknown value_type " + std::to_string(vt) + " (format-spec §2.3)");
  info->value_type = static_cast<ValueType>(vt);
  if (order > 1) return Status::NotSupported(Where(file, fo + 21) + "unknown col_order " + std::to_string(order) + " (format-spec §2.3)");
  info->permuted = order == 1;
  if (!AllZero(p + 22, 2) || !AllZero(p + 28, 4) || !AllZero(p + 48, 16)) return bad(22, "reserved footer bytes must be 0 (format-spec §2.3)");
  // The exact footer length follows from n_chunks and col_order; checking it
  // first bounds every loop below by bytes actually present.
  const uint64_t expect = kFooterFixedSize + static_cast<uint64_t>(kDirEntrySize) * n_chunks + (info->permuted ? 4ull * info->n_cols : 0);
  if (expect != len) {
    return bad(24, "footer length " + std::to_string(len) + " does not match n_chunks " + std::to_string(n_chunks) +
                       " and col_order (expected " + std::to_string(expect) + " bytes) (format-spec §2.3)");
  }
  info->chunks.resize(n_chunks);
  uint64_t next_row = 0, next_offset = kHeaderSize, nnz = 0;
  const uint8_t* e = p + kFooterFixedSize;
  for (uint32_t i = 0; i < n_chunks; ++i, e += kDirEntrySize) {
    const uint64_t rel = kFooterFixedSize + static_cast<uint64_t>(kDirEntrySize) * i;
    const std::string chunk = "chunk " + std::to_string(i) + ": ";
    ChunkInfo& c = info->chunks[i];
    c.offset = Load<uint64_t>(e);
    c.stored_len = Load<uint32_t>(e + 8);
    c.raw_len = Load<uint32_t>(e + 12);
    c.first_row = Load<uint64_t>(e + 16);
    c.n_rows = Load<uint32_t>(e + 24);
    c.nnz = Load<uint32_t>(e + 28);
    c.min_col = Load<uint32_t>(e + 32);
    c.max_col = Load<uint32_t>(e + 36);
    c.min_value = Load<double>(e + 40);
    c.max_value = Load<double>(e + 48);
    c.sum = Load<double>(e + 56);
    c.codec = e[64];
    c.value_encoding = e[65];
    c.checksum = Load<uint64_t>(e + 72);
    if (!AllZero(e + 66, 6)) return bad(rel + 66, chunk + "reserved directory bytes must be 0 (format-spec §2.4)");
    // §2.4: chunks are contiguous, in row order, and lie before the footer.
    if (c.offset != next_offset) return bad(rel, chunk + "offset " + std::to_string(c.offset) + ", expected " + std::to_string(next_offset) + " (chunks are contiguous, format-spec §2.4)");
    if (c.stored_len > kMaxChunkBytes || c.raw_len > kMaxChunkBytes) return bad(rel + 8, chunk + "length over the 256 MiB limit (format-spec §2.6)");
    if (c.stored_len > fo - c.offset) return bad(rel + 8, chunk + "runs past the footer at offset " + std::to_string(fo) + " (format-spec §2.4)");
    if (c.first_row != next_row) return bad(rel + 16, chunk + "first_row " + std::to_string(c.first_row) + ", expected " + std::to_string(next_row) + " (format-spec §2.4)");
    if (c.n_rows == 0 || c.n_rows > kMaxChunkRows) return bad(rel + 24, chunk + "n_rows " + std::to_string(c.n_rows) + " outside 1..2^24 (format-spec §2.6)");
    if (c.nnz > kMaxChunkNnz) return bad(rel + 28, chunk + "nnz " + std::to_string(c.nnz) + " over the limit 2^26 (format-spec §2.6)");
    if (c.raw_len < kChunkHeaderSize) return bad(rel + 12, chunk + "raw_len " + std::to_string(c.raw_len) + " below the 16-byte chunk header (format-spec §4.2)");
    if (c.codec > codecs::kMaxCodecId) return Status::NotSupported(Where(file, fo + rel + 64) + chunk + "unknown codec id " + std::to_string(c.codec) + " (format-spec §3.5)");
    const bool int_enc = c.value_encoding == kCountsMinusOne || c.value_encoding == kCountsPlain;
    const bool float_enc = c.value_encoding == kFloatPlain || c.value_encoding == kFloatShuffled;
    if (!int_enc && !float_enc) return Status::NotSupported(Where(file, fo + rel + 65) + chunk + "unknown value_encoding " + std::to_string(c.value_encoding) + " (format-spec §4.3)");
    if (int_enc != (info->value_type == ValueType::kUInt32)) return bad(rel + 65, chunk + "value_encoding " + std::to_string(c.value_encoding) + " does not match the file's value_type (format-spec §4.3)");
    if (c.nnz > 0 && (c.min_col > c.max_col || c.max_col >= info->n_cols)) return bad(rel + 32, chunk + "column range [" + std::to_string(c.min_col) + ", " + std::to_string(c.max_col) + "] invalid for n_cols " + std::to_string(info->n_cols) + " (format-spec §2.4)");
    next_row += c.n_rows;
    next_offset = c.offset + c.stored_len;
    nnz += c.nnz;
  }
  if (next_offset != fo) return bad(0, "chunks end at offset " + std::to_string(next_offset) + " but the footer starts at " + std::to_string(fo) + " (format-spec §2.4)");
  if (next_row != info->n_rows) return bad(8, "chunks hold " + std::to_string(next_row) + " rows, footer says n_rows " + std::to_string(info->n_rows) + " (format-spec §2.3)");
  if (nnz != info->nnz) return bad(32, "chunks hold " + std::to_string(nnz) + " nonzeros, footer says nnz " + std::to_string(info->nnz) + " (format-spec §2.3)");
  if (info->permuted) {
    const uint8_t* q = e;
    info->stored_to_original.resize(info->n_cols);
    std::vector<bool> seen(info->n_cols, false);
    for (uint32_t i = 0; i < info->n_cols; ++i) {
      const uint32_t orig = Load<uint32_t>(q + 4ull * i);
      if (orig >= info->n_cols || seen[orig]) {
        return bad(static_cast<uint64_t>(q - p) + 4ull * i, "column permutation entry " + std::to_string(i) + " = " + std::to_string(orig) + " is out of range or repeated (format-spec §4.4)");
      }
      seen[orig] = true;
      info->stored_to_original[i] = orig;
    }
  }
  info->footer_offset = fo;
  info->footer_len = len;
  return Status::OK();
}

}  // namespace slaf::engine
