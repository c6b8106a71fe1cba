// Dense matrices (format-spec §8): WriteDense and DenseReader.
//
// File: header (kind "DNSE") | chunks of whole rows | footer | tail (§2).
// Footer (§8.2):
//   fixed part, 64 bytes: 0 u64 file_id | 8 u64 n_rows | 16 u32 n_cols
//     20 u8 value_type (1 f32, 2 f64) | 21..23 reserved | 24 u32 n_chunks
//     28..63 reserved
//   directory, 40 bytes per chunk (§8.3): 0 u64 offset | 8 u32 stored_len
//     12 u32 raw_len | 16 u64 first_row | 24 u32 n_rows | 28 u8 codec
//     29 u8 encoding | 30 u16 reserved | 32 u64 checksum
// Chunk payload (§8.4): the chunk's n_rows x n_cols values row-major,
// encoding 1 plain little-endian, 2 byte planes (byte b of value k at
// b * N + k, N values in the chunk).
#include "slaf/dense.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "codecs/checksum.h"
#include "codecs/compress.h"
#include "engine/format.h"
#include "slaf/file.h"

namespace slaf {

bool DenseMatrix::Equals(const DenseMatrix& o) const {
  if (n_rows != o.n_rows || n_cols != o.n_cols || type != o.type) return false;
  auto same = [](const auto& a, const auto& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0);
  };
  return same(f32, o.f32) && same(f64, o.f64);
}

namespace engine {
namespace {

constexpr size_t kDenseFooterFixedSize = 64;
constexpr size_t kDenseEntrySize = 40;
constexpr uint32_t kMaxDenseCols = 1u << 24;  // §8.5
constexpr uint8_t kDensePlain = 1, kDenseShuffled = 2;

size_t ValueSize(DenseType t) { return t == DenseType::kFloat32 ? 4 : 8; }

}  // namespace
}  // namespace engine

Status WriteDense(io::WritableFile* file, const DenseMatrix& m, const DenseWriterOptions& options) {
  using namespace engine;
  const size_t vs = ValueSize(m.type);
  if (m.type != DenseType::kFloat32 && m.type != DenseType::kFloat64) return Status::InvalidArgument("dense: unknown type id " + std::to_string(static_cast<int>(m.type)));
  if (m.n_rows > kMaxRows) return Status::InvalidArgument("dense: n_rows " + std::to_string(m.n_rows) + " over the limit 2^40 (format-spec §8.5)");
  if (m.n_cols > kMaxDenseCols) return Status::InvalidArgument("dense: n_cols " + std::to_string(m.n_cols) + " over the limit 2^24 (format-spec §8.5)");
  const uint64_t n_values = m.n_rows * m.n_cols;
  const bool is32 = m.type == DenseType::kFloat32;
  if ((is32 ? m.f32.size() : m.f64.size()) != n_values || (is32 ? m.f64.size() : m.f32.size()) != 0) {
    return Status::InvalidArgument("dense: value array holds " + std::to_string(is32 ? m.f32.size() : m.f64.size()) + " values, expected n_rows x n_cols = " + std::to_string(n_values) +
                                   " (and the other type's array must be empty)");
  }
  const uint64_t row_bytes = m.n_cols * vs;
  // Whole rows per chunk: about target_chunk_bytes, at least one row, at
  // most 2^24 rows and 256 MiB (§8.5; a row is at most 128 MiB).
  uint64_t rows_per_chunk = row_bytes == 0 ? kMaxChunkRows : std::max<uint64_t>(1, options.target_chunk_bytes / row_bytes);
  rows_per_chunk = std::min<uint64_t>({rows_per_chunk, kMaxChunkRows, row_bytes == 0 ? kMaxChunkRows : kMaxChunkBytes / row_bytes});

  const uint64_t file_id = options.file_id ? options.file_id : (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  Header h;
  h.file_id = file_id;
  uint8_t header[kHeaderSize];
  EncodeHeader(h, header, kKindDense);
  SLAF_RETURN_IF_ERROR(file->Append({header, kHeaderSize}));
  const auto* values = is32 ? reinterpret_cast<const uint8_t*>(m.f32.data()) : reinterpret_cast<const uint8_t*>(m.f64.data());
  std::vector<uint8_t> footer(kDenseFooterFixedSize, 0), shuffled, packed;
  uint64_t offset = kHeaderSize, index = 0;
  for (uint64_t r = 0; r < m.n_rows; r += rows_per_chunk, ++index) {
    const uint64_t n = std::min(rows_per_chunk, m.n_rows - r);
    const uint8_t* plain = values + r * row_bytes;
    const size_t raw_len = n * row_bytes;
    std::span<const uint8_t> stored(plain, raw_len);
    uint8_t codec = 0;
    uint8_t encoding = kDensePlain;
    // §8.6: shuffle when asked; kAuto keeps zstd only if smaller, and a
    // chunk that ends up uncompressed after trying a codec is stored plain.
    if (options.shuffle && options.codec == ChunkCodecChoice::kNone) {
      shuffled.resize(raw_len);
      ShuffleBytes(plain, n * m.n_cols, vs, shuffled.data());
      stored = shuffled;
      encoding = kDenseShuffled;
    } else if (options.codec != ChunkCodecChoice::kNone) {
      std::span<const uint8_t> input(plain, raw_len);
      if (options.shuffle) {
        shuffled.resize(raw_len);
        ShuffleBytes(plain, n * m.n_cols, vs, shuffled.data());
        input = shuffled;
      }
      const codecs::Codec c = options.codec == ChunkCodecChoice::kLz4 ? codecs::Codec::kLz4 : codecs::Codec::kZstd;
      packed.clear();
      SLAF_RETURN_IF_ERROR(codecs::Compress(c, input, options.zstd_level, &packed));
      if (packed.size() < raw_len) {
        stored = packed;
        codec = static_cast<uint8_t>(c);
        encoding = options.shuffle ? kDenseShuffled : kDensePlain;
      }
    }
    uint8_t e[kDenseEntrySize] = {};
    Store<uint64_t>(e, offset);
    Store<uint32_t>(e + 8, static_cast<uint32_t>(stored.size()));
    Store<uint32_t>(e + 12, static_cast<uint32_t>(raw_len));
    Store<uint64_t>(e + 16, r);
    Store<uint32_t>(e + 24, static_cast<uint32_t>(n));
    e[28] = codec;
    e[29] = encoding;
    Store<uint64_t>(e + 32, codecs::Checksum64(stored.data(), stored.size(), ChunkSeed(file_id, index)));
    footer.insert(footer.end(), e, e + kDenseEntrySize);
    SLAF_RETURN_IF_ERROR(file->Append(stored));
    offset += stored.size();
  }
  if (index > UINT32_MAX) return Status::InvalidArgument("dense: more than 2^32-1 chunks; raise target_chunk_bytes");
  uint8_t* f = footer.data();
  Store<uint64_t>(f, file_id);
  Store<uint64_t>(f + 8, m.n_rows);
  Store<uint32_t>(f + 16, m.n_cols);
  f[20] = static_cast<uint8_t>(m.type);
  Store<uint32_t>(f + 24, static_cast<uint32_t>(index));
  return WriteFooterAndTail(file, offset, footer);
}

namespace engine {
namespace {

class DenseReaderImpl final : public DenseReader {
 public:
  explicit DenseReaderImpl(std::shared_ptr<io::RandomAccessFile> file) : file_(std::move(file)) {}

  Status OpenImpl() {
    Header h;
    Tail t;
    std::vector<uint8_t> footer;
    SLAF_RETURN_IF_ERROR(ReadContainer(*file_, kKindDense, &h, &t, &footer));
    SLAF_RETURN_IF_ERROR(DecodeFooter(footer.data(), footer.size(), t.footer_offset));
    SLAF_RETURN_IF_ERROR(CheckContainerIds(file_->name(), h, t, info_.file_id, file_->size()));
    info_.major = t.major;
    info_.minor = t.minor;
    info_.file_size = file_->size();
    return Status::OK();
  }

  const DenseInfo& info() const override { return info_; }

  Status ReadRows(uint64_t begin, uint64_t end, DenseMatrix* out) const override {
    out->n_rows = 0;
    out->n_cols = info_.n_cols;
    out->type = info_.type;
    out->f32.clear();
    out->f64.clear();
    if (begin > end || end > info_.n_rows) {
      return Status::InvalidArgument(file_->name() + ": row range [" + std::to_string(begin) + ", " + std::to_string(end) + ") outside 0.." + std::to_string(info_.n_rows));
    }
    const size_t vs = ValueSize(info_.type);
    const uint64_t row_bytes = uint64_t{info_.n_cols} * vs;
    // Reserve at once unless the footer claims far more than the file's
    // bytes could back (then grow chunk by chunk, each verified first).
    const uint64_t want = (end - begin) * info_.n_cols;
    if (want * vs <= std::max<uint64_t>(16ull << 20, 64 * info_.file_size)) {
      if (info_.type == DenseType::kFloat32) out->f32.reserve(want);
      else out->f64.reserve(want);
      AdviseHugePages(info_.type == DenseType::kFloat32 ? static_cast<void*>(out->f32.data()) : static_cast<void*>(out->f64.data()), want * vs);
    }
    std::vector<uint8_t> stored, raw;
    auto it = std::upper_bound(info_.chunks.begin(), info_.chunks.end(), begin, [](uint64_t r, const DenseChunkInfo& c) { return r < c.first_row; });
    for (size_t i = it == info_.chunks.begin() ? 0 : static_cast<size_t>(it - info_.chunks.begin()) - 1; i < info_.chunks.size() && info_.chunks[i].first_row < end; ++i) {
      const DenseChunkInfo& c = info_.chunks[i];
      const uint64_t r0 = std::max(begin, c.first_row) - c.first_row, r1 = std::min(end, c.first_row + c.n_rows) - c.first_row;
      const uint64_t at = out->n_rows * row_bytes;
      const uint64_t bytes = (r1 - r0) * row_bytes;
      // The result grows only after the chunk verified, or, for a chunk
      // read in place, by no more than its stored bytes (§8.3: raw_len =
      // stored_len for codec 0).
      const bool direct = c.codec == 0 && c.encoding == kDensePlain && r0 == 0 && r1 == c.n_rows;
      std::span<const uint8_t> payload;
      if (!direct) SLAF_RETURN_IF_ERROR(Fail(LoadChunk(i, &stored, &raw, &payload), out));
      if (info_.type == DenseType::kFloat32) out->f32.resize((out->n_rows + r1 - r0) * info_.n_cols);
      else out->f64.resize((out->n_rows + r1 - r0) * info_.n_cols);
      uint8_t* dst = (info_.type == DenseType::kFloat32 ? reinterpret_cast<uint8_t*>(out->f32.data()) : reinterpret_cast<uint8_t*>(out->f64.data())) + at;
      if (direct) {
        // Whole plain chunk: read into the result, verify it there.
        SLAF_RETURN_IF_ERROR(Fail(file_->ReadAt(c.offset, c.stored_len, dst), out));
        SLAF_RETURN_IF_ERROR(Fail(VerifyChecksum(i, {dst, c.stored_len}), out));
      } else {
        if (c.encoding == kDensePlain) {
          if (bytes) std::memcpy(dst, payload.data() + r0 * row_bytes, bytes);
        } else {
          UnshuffleBytes(payload.data(), uint64_t{c.n_rows} * info_.n_cols, vs, r0 * info_.n_cols, (r1 - r0) * info_.n_cols, dst);
        }
      }
      out->n_rows += r1 - r0;
    }
    return Status::OK();
  }

  Status VerifyAll() const override {
    std::vector<uint8_t> stored, raw;
    for (size_t i = 0; i < info_.chunks.size(); ++i) {
      std::span<const uint8_t> payload;
      SLAF_RETURN_IF_ERROR(LoadChunk(i, &stored, &raw, &payload));
    }
    return Status::OK();
  }

 private:
  // Clears a half-read result on error, so none escapes.
  static Status Fail(Status s, DenseMatrix* out) {
    if (!s.ok()) {
      out->n_rows = 0;
      out->f32.clear();
      out->f64.clear();
    }
    return s;
  }

  std::string Context(size_t i) const { return file_->name() + ": chunk " + std::to_string(i) + " at offset " + std::to_string(info_.chunks[i].offset); }

  Status VerifyChecksum(size_t i, std::span<const uint8_t> stored) const {
    const DenseChunkInfo& c = info_.chunks[i];
    const uint64_t actual = codecs::Checksum64(stored.data(), stored.size(), ChunkSeed(info_.file_id, i));
    if (kCheckChecksums && actual != c.checksum) {
      return Status::Corruption(Context(i) + ": checksum mismatch: directory says " + std::to_string(c.checksum) + ", computed " + std::to_string(actual) + " over " + std::to_string(stored.size()) +
                                " bytes (format-spec §3.6, §8.4)");
    }
    return Status::OK();
  }

  // §8.4 steps 1-2: reads chunk i, verifies its checksum, decompresses it.
  Status LoadChunk(size_t i, std::vector<uint8_t>* stored, std::vector<uint8_t>* raw, std::span<const uint8_t>* payload) const {
    const DenseChunkInfo& c = info_.chunks[i];
    stored->resize(c.stored_len);
    SLAF_RETURN_IF_ERROR(file_->ReadAt(c.offset, c.stored_len, stored->data()));
    SLAF_RETURN_IF_ERROR(VerifyChecksum(i, *stored));
    *payload = *stored;
    if (c.codec == 0) return Status::OK();
    const auto codec = static_cast<codecs::Codec>(c.codec);
    Status s = codecs::CheckDecompressedSize(codec, *stored, c.raw_len);
    if (s.ok()) {
      raw->resize(c.raw_len);
      s = codecs::Decompress(codec, *stored, raw->data(), c.raw_len);
    }
    if (!s.ok()) return Status::Corruption(Context(i) + ": " + s.message() + " (format-spec §3.5)");
    *payload = {raw->data(), c.raw_len};
    return Status::OK();
  }

  // format-spec §8.2, §8.3 in the order of §8.2.
  Status DecodeFooter(const uint8_t* p, size_t len, uint64_t fo) {
    const std::string& file = file_->name();
    auto at = [&](uint64_t rel) { return file + ": offset " + std::to_string(fo + rel) + ": "; };
    auto bad = [&](uint64_t rel, const std::string& what) { return Status::Corruption(at(rel) + what); };
    info_.file_id = Load<uint64_t>(p);
    info_.n_rows = Load<uint64_t>(p + 8);
    info_.n_cols = Load<uint32_t>(p + 16);
    const uint8_t vt = p[20];
    const uint32_t n_chunks = Load<uint32_t>(p + 24);
    if (info_.n_rows > kMaxRows) return bad(8, "n_rows " + std::to_string(info_.n_rows) + " exceeds the limit 2^40 (format-spec §8.5)");
    if (info_.n_cols > kMaxDenseCols) return bad(16, "n_cols " + std::to_string(info_.n_cols) + " exceeds the limit 2^24 (format-spec §8.5)");
    if (vt != 1 && vt != 2) return Status::NotSupported(at(20) + "unknown value_type " + std::to_string(vt) + " (format-spec §8.2)");
    info_.type = static_cast<DenseType>(vt);
    for (size_t i : {21, 22, 23}) {
      if (p[i]) return bad(i, "reserved footer bytes must be 0 (format-spec §8.2)");
    }
    for (size_t i = 28; i < kDenseFooterFixedSize; ++i) {
      if (p[i]) return bad(i, "reserved footer bytes must be 0 (format-spec §8.2)");
    }
    const uint64_t expect = kDenseFooterFixedSize + kDenseEntrySize * static_cast<uint64_t>(n_chunks);
    if (expect != len) {
      return bad(24, "footer length " + std::to_string(len) + " does not match n_chunks " + std::to_string(n_chunks) + " (expected " + std::to_string(expect) + " bytes) (format-spec §8.2)");
    }
    const uint64_t row_bytes = uint64_t{info_.n_cols} * ValueSize(info_.type);
    info_.chunks.resize(n_chunks);
    uint64_t next_offset = kHeaderSize, next_row = 0;
    for (uint32_t i = 0; i < n_chunks; ++i) {
      const uint64_t rel = kDenseFooterFixedSize + kDenseEntrySize * uint64_t{i};
      const uint8_t* e = p + rel;
      const std::string who = "chunk " + std::to_string(i) + ": ";
      DenseChunkInfo& c = info_.chunks[i];
      c.offset = Load<uint64_t>(e);
      c.stored_len = Load<uint32_t>(e + 8);
      c.raw_len = Load<uint32_t>(e + 12);
      c.first_row = Load<uint64_t>(e + 16);
      c.n_rows = Load<uint32_t>(e + 24);
      c.codec = e[28];
      c.encoding = e[29];
      c.checksum = Load<uint64_t>(e + 32);
      if (Load<uint16_t>(e + 30) != 0) return bad(rel + 30, who + "reserved directory bytes must be 0 (format-spec §8.3)");
      if (c.offset != next_offset) return bad(rel, who + "offset " + std::to_string(c.offset) + ", expected " + std::to_string(next_offset) + " (chunks are contiguous, format-spec §8.3)");
      if (c.stored_len > kMaxChunkBytes || c.raw_len > kMaxChunkBytes) return bad(rel + 8, who + "length over the 256 MiB limit (format-spec §8.5)");
      if (c.stored_len > fo - c.offset) return bad(rel + 8, who + "runs past the footer at offset " + std::to_string(fo) + " (format-spec §8.3)");
      if (c.first_row != next_row) return bad(rel + 16, who + "first_row " + std::to_string(c.first_row) + ", expected " + std::to_string(next_row) + " (format-spec §8.3)");
      if (c.n_rows == 0 || c.n_rows > kMaxChunkRows) return bad(rel + 24, who + "n_rows " + std::to_string(c.n_rows) + " outside 1..2^24 (format-spec §8.5)");
      if (c.codec > codecs::kMaxCodecId) return Status::NotSupported(at(rel + 28) + who + "unknown codec id " + std::to_string(c.codec) + " (format-spec §3.5)");
      if (c.encoding != kDensePlain && c.encoding != kDenseShuffled) return Status::NotSupported(at(rel + 29) + who + "unknown encoding " + std::to_string(c.encoding) + " (format-spec §8.4)");
      if (c.raw_len != c.n_rows * row_bytes) {
        return bad(rel + 12, who + "raw_len " + std::to_string(c.raw_len) + ", expected n_rows x n_cols x " + std::to_string(ValueSize(info_.type)) + " = " + std::to_string(c.n_rows * row_bytes) + " (format-spec §8.3)");
      }
      if (c.codec == 0 && c.raw_len != c.stored_len) return bad(rel + 8, who + "uncompressed chunk has stored_len " + std::to_string(c.stored_len) + " != raw_len " + std::to_string(c.raw_len) + " (format-spec §8.3)");
      if (c.codec == 2 && c.raw_len > 255ull * c.stored_len) return bad(rel + 12, who + "lz4 block of " + std::to_string(c.stored_len) + " bytes cannot decode to raw_len " + std::to_string(c.raw_len) + " (format-spec §3.5)");
      next_offset = c.offset + c.stored_len;
      next_row += c.n_rows;
    }
    if (next_offset != fo) return bad(0, "chunks end at offset " + std::to_string(next_offset) + " but the footer starts at " + std::to_string(fo) + " (format-spec §8.3)");
    if (next_row != info_.n_rows) return bad(8, "chunks hold " + std::to_string(next_row) + " rows, footer says n_rows " + std::to_string(info_.n_rows) + " (format-spec §8.2)");
    return Status::OK();
  }

  std::shared_ptr<io::RandomAccessFile> file_;
  DenseInfo info_;
};

}  // namespace
}  // namespace engine

Result<std::unique_ptr<DenseReader>> DenseReader::Open(std::shared_ptr<io::RandomAccessFile> file) {
  auto r = std::make_unique<engine::DenseReaderImpl>(std::move(file));
  SLAF_RETURN_IF_ERROR(r->OpenImpl());
  return std::unique_ptr<DenseReader>(std::move(r));
}

}  // namespace slaf
